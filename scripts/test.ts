/**
 * `npm test`: brings the Postgres the tests need, then runs tap.
 * - DATABASE_URL set: that server (CI's service containers).
 * - otherwise: an embedded Postgres in .data/, started here and stopped afterwards.
 * Migrations run once into a template database; each test file clones it (test/helpers/db.ts),
 * which takes ~75 ms and isolates files from each other, LISTEN/NOTIFY included.
 * Extra arguments go to tap (`npm test -- test/sync/processor.test.ts`).
 *
 * SIGTERM, SIGINT or SIGHUP (src/launcher.ts) stops tap with everything it started — it runs in a
 * process group of its own, so its test processes, their servers and their clusters are signalled
 * together — then this Postgres, and exits 128 + the signal's number.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import postgres from 'postgres';
import { type EmbeddedCluster, startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { signalExitCode, stopOnSignals } from '../src/launcher.js';

export const TEMPLATE_DB = 'budget_sync_template';
/** How long tap's process group gets to end after SIGINT before it is killed. */
const TAP_STOP_MS = 10_000;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function prepareTemplate(adminUrl: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  await migrate(withDatabase(adminUrl, TEMPLATE_DB));
}

let cluster: EmbeddedCluster | undefined;
let dataDir: string | undefined;
let tap: ChildProcess | undefined;

async function cleanUp(): Promise<void> {
  await cluster?.stop().catch(() => {});
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true }).catch(() => {});
}

/** Whether anything of process group `pgid` is still running. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGINT to tap's whole group (Postgres takes it as a fast shutdown), SIGKILL after TAP_STOP_MS. */
async function stopTap(): Promise<void> {
  const pgid = tap?.pid;
  if (!pgid || !groupAlive(pgid)) return;
  process.kill(-pgid, 'SIGINT');
  const deadline = Date.now() + TAP_STOP_MS;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
}

async function main(): Promise<number> {
  let adminUrl = process.env.DATABASE_URL;
  const started = Date.now();
  if (!adminUrl) {
    dataDir = `.data/test-pg-${process.pid}`;
    cluster = await startEmbeddedPostgres({ dir: dataDir, persistent: false });
    adminUrl = cluster.url;
  }
  try {
    await prepareTemplate(adminUrl);
    process.stdout.write(`# postgres ready for tests in ${Date.now() - started} ms (${cluster ? 'embedded' : 'DATABASE_URL'})\n`);
    tap = spawn('node_modules/.bin/tap', process.argv.slice(2), {
      stdio: 'inherit',
      detached: true,
      env: { ...process.env, TEST_ADMIN_DATABASE_URL: adminUrl, TEST_TEMPLATE_DB: TEMPLATE_DB },
    });
    const child = tap;
    return await new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await cleanUp();
  }
}

let stopping = false;
stopOnSignals(
  async (signal) => {
    stopping = true;
    await stopTap();
    await cleanUp();
    return signalExitCode(signal);
  },
  { deadlineMs: TAP_STOP_MS + 15_000 },
);
const code = await main();
// process.exit, not process.exitCode: a test run's stray handle must not keep the process (and
// so CI) waiting. After a signal, the handler exits (with the signal's code) once all is stopped.
if (!stopping) process.exit(code);
