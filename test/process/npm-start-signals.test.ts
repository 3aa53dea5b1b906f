/**
 * `npm start` as a user runs it — a real npm, building and starting the server with its embedded
 * Postgres (data folder in a temp dir, free ports) — then SIGTERM (and, separately, SIGINT) sent to
 * the npm process alone, as an orchestrator or `kill <pid>` does. Afterwards nothing may be left:
 * not the server, not Postgres (no process of that data folder), nothing else npm started. Without
 * `exec` in the npm script, npm's shell died of the signal and left both running, orphaned.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../../src/db/embedded.js';
import { childEnv } from '../helpers/child-env.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Build (tsc), first initdb and migrations: ~20 s on an idle machine, far more under load. */
const READY_WITHIN_MS = 240_000;
/** SHUTDOWN_GRACE_MS (10 s by default) plus the pool's and Postgres's own stop, with room. */
const GONE_WITHIN_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Two real `npm start`s, each with its TypeScript build: more than the default per-file timeout.
t.setTimeout(2 * (READY_WITHIN_MS + 2 * GONE_WITHIN_MS));

/** pid → ppid of every process visible in /proc. */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      table.set(Number(entry), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  return table;
}

/** Every descendant of `root`. */
function descendants(root: number): number[] {
  const table = processTable();
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of table)
      if (parent === pid && !found.includes(child)) {
        found.push(child);
        walk(child);
      }
  };
  walk(root);
  return found;
}

/** Live (not zombie) processes whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (cmd.includes(text) && alive(Number(entry))) out.push(`${entry}: ${cmd}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal} to npm start's pid stops the server and its embedded Postgres`, async (t) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'budget-sync-start-'));
    // Postgres runs as the `postgres` user when the tests run as root: it must reach the folder.
    fs.chmodSync(tmp, 0o755);
    const dataDir = path.join(tmp, 'pg');
    const [port, pgPort] = [await freePort(), await freePort()];
    // A user's shell, not the test runner's environment: no DATABASE_URL (CI sets one), no tap
    // loader hooks, no npm_* variables of the surrounding `npm test`.
    const env: Record<string, string> = {};
    for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'USER']) if (process.env[k]) env[k] = process.env[k] as string;
    Object.assign(env, {
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      EMBEDDED_PG_DIR: dataDir,
      EMBEDDED_PG_PORT: String(pgPort),
      LOG_LEVEL: 'info',
    });
    const output: string[] = [];
    const npm: ChildProcess = spawn('npm', ['start'], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    npm.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    npm.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      npm.once('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    let started: number[] = [];
    t.teardown(async () => {
      // Only if the test failed: nothing it started outlives it.
      for (const pid of [npm.pid as number, ...started]) if (alive(pid)) process.kill(pid, 'SIGKILL');
      await sleep(500);
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    const readyz = `http://127.0.0.1:${port}/readyz`;
    const deadline = Date.now() + READY_WITHIN_MS;
    while (!(await answers(readyz))) {
      if (npm.exitCode !== null || Date.now() > deadline) {
        t.fail(`npm start did not become ready: ${output.join('').slice(-3000)}`);
        return;
      }
      await sleep(250);
    }
    started = descendants(npm.pid as number);
    const postgres = processesMentioning(dataDir);
    t.ok(postgres.length > 0, `the embedded Postgres runs from the temp data folder (${postgres.length} processes)`);
    t.ok(started.length >= 2, `npm started the server and Postgres (${started.length} processes under npm)`);

    process.kill(npm.pid as number, signal);
    let timer: NodeJS.Timeout | undefined;
    const npmExit = await Promise.race([exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), GONE_WITHIN_MS)))]);
    // A pending 30 s timer would hold the file open that long after its last test.
    clearTimeout(timer);
    t.ok(npmExit, `npm exited after ${signal} (${JSON.stringify(npmExit)})`);

    const goneBy = Date.now() + GONE_WITHIN_MS;
    let left: string[] = [];
    for (;;) {
      left = [...started.filter(alive).map((pid) => `pid ${pid}`), ...processesMentioning(dataDir)];
      if (left.length === 0 || Date.now() > goneBy) break;
      await sleep(200);
    }
    t.same(left, [], 'no process npm started is left, none of the data folder');
    t.notOk(await answers(readyz), 'nothing answers on the port');
    t.match(output.join(''), /"msg":"stopped"/, 'the server logged its orderly stop');
  });
}
