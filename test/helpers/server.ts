import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import { mintDevToken } from '../../src/auth/dev-verifier.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { createServer, type Server } from '../../src/server.js';
import { checkResponses, describe } from './conformance.js';
import { createTestDb } from './db.js';

export const TEST_SECRET = 'test-secret-0123456789';

/** Config for tests: dev tokens, quiet logs, overridable per test. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DEV_AUTH_SECRET: TEST_SECRET,
    AUTH_MODE: 'dev',
    ...env,
  });
}

export const token = (uid: string, options: Parameters<typeof mintDevToken>[2] = {}) => mintDevToken(TEST_SECRET, uid, options);
export const auth = (uid: string) => ({ authorization: `Bearer ${token(uid)}` });
export const uuid = () => randomUUID();

export interface TestServer extends Server {
  url: string;
}

/** A server on a fresh database of its own, closed at teardown. */
export async function startTestServer(t: Test, env: Record<string, string> = {}, databaseUrl?: string): Promise<TestServer> {
  const url = databaseUrl ?? (await createTestDb(t));
  const config = testConfig(env);
  const server = await createServer(config, createLogger(config), url);
  t.teardown(() => server.close());
  conform(t, server.app);
  return { ...server, url };
}

/**
 * Every answer of `app` is checked against docs/openapi.json; a mismatch fails `t`, the test that
 * owns the server (and so the test whose request caused it). Call before the app is ready.
 */
export function conform(t: Test, app: FastifyInstance): void {
  checkResponses(app, (m) => t.fail(describe(m)));
}
