/**
 * Shared pieces of the benchmarks: a Postgres for the run (DATABASE_URL or an embedded one), a fresh
 * migrated database, server instances in child processes, and table printing. Benchmarks only talk
 * to loopback addresses and stop by themselves.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import postgres from 'postgres';
import { freePort, startEmbeddedPostgres } from '../../src/db/embedded.js';

export { freePort };
import { migrate } from '../../src/db/migrate.js';

export const BENCH_SECRET = 'bench-secret-0123456789';

export interface BenchDb {
  url: string;
  /** The embedded cluster's data folder (undefined on DATABASE_URL's server). */
  dataDir?: string;
  close(): Promise<void>;
}

/**
 * A fresh migrated database on DATABASE_URL's server, or on an embedded cluster started for the
 * run with `settings` (a server given by DATABASE_URL keeps its own).
 */
export async function benchDatabase(settings: Record<string, string> = {}): Promise<BenchDb> {
  let adminUrl = process.env.DATABASE_URL;
  let stopCluster = async () => {};
  const dir = `.data/bench-pg-${process.pid}`;
  if (!adminUrl) {
    const cluster = await startEmbeddedPostgres({ dir, persistent: false, settings });
    adminUrl = cluster.url;
    stopCluster = async () => {
      await cluster.stop().catch(() => {});
      await fs.rm(dir, { recursive: true, force: true });
    };
  }
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  await migrate(url);
  return {
    url,
    ...(process.env.DATABASE_URL ? {} : { dataDir: dir }),
    async close() {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await admin.end();
      await stopCluster();
    },
  };
}

export interface Instance {
  port: number;
  base: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a server process (`src/main.ts` through tsx) on the database; resolves once /readyz answers.
 * `nodeArgs` go before the script, e.g. `['--cpu-prof', '--cpu-prof-dir', dir]` to profile an instance
 * (the profile is written when it exits after SIGTERM).
 */
export async function startInstance(
  databaseUrl: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  /** The checkout whose server runs (default this one): before/after runs from two worktrees. */
  cwd?: string,
): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], {
    cwd,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      AUTH_MODE: 'dev',
      DEV_AUTH_SECRET: BENCH_SECRET,
      LOG_LEVEL: 'warn',
      // The benches measure throughput, not the limiters: per-IP HTTP and per-socket message rates
      // (default 50/s averaged over 5 s, which one ingest socket passes within a second or two).
      RATE_LIMIT_MAX: '100000000',
      WS_MAX_MESSAGES_PER_SECOND: '1000000',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error('server did not become ready in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    base,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Keep-alive JSON requests with node:http: less client CPU than fetch, which matters on 2 cores. */
export class JsonClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  constructor(
    private readonly port: number,
    private readonly token: string,
  ) {}

  request<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T });
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** Prints rows as an aligned text table, or markdown when asked. */
export function table(headers: string[], rows: (string | number)[][], markdown = false): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  if (markdown) {
    return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  }
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** One line of `npm run bench`'s combined table: a figure beside its floor, variant or target. */
export interface SummaryRow {
  benchmark: string;
  measured: string;
  value: string;
  against: string;
  againstValue: string;
  ratio: string;
}

export const SUMMARY_HEADERS = ['benchmark', 'measured', 'value', 'against', 'its value', 'ratio'];

/** Writes the rows for `bench/run.ts` when a bench is given `--json <file>`. */
export async function writeSummary(file: string | undefined, rows: SummaryRow[]): Promise<void> {
  if (file) await fs.writeFile(file, JSON.stringify(rows));
}

export const summaryCells = (r: SummaryRow) => [r.benchmark, r.measured, r.value, r.against, r.againstValue, r.ratio];
