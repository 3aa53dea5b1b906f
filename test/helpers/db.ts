import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Test } from 'tap';

/** Set by scripts/test.ts (npm test): the admin connection string and the migrated template. */
function testEnv(): { adminUrl: string; template: string } {
  const adminUrl = process.env.TEST_ADMIN_DATABASE_URL;
  const template = process.env.TEST_TEMPLATE_DB;
  if (!adminUrl || !template) throw new Error('run tests through `npm test` (it starts Postgres and the template database)');
  return { adminUrl, template };
}

export function databaseUrl(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh, migrated database for this test file, dropped at teardown. */
export async function createTestDb(t: Test): Promise<string> {
  const { adminUrl, template } = testEnv();
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.end();
  }
  t.teardown(async () => {
    const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await a.end();
    }
  });
  return databaseUrl(adminUrl, name);
}

/** An empty (unmigrated) database, for migration tests. */
export async function createEmptyDb(t: Test): Promise<string> {
  const { adminUrl } = testEnv();
  const name = `e_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  t.teardown(async () => {
    const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await a.end();
  });
  return databaseUrl(adminUrl, name);
}
