import type { Test } from 'tap';
import { createLogger } from '../../src/log.js';
import { createServer, type Server } from '../../src/server.js';
import type { PhotoStore } from '../../src/storage/photo-store.js';
import { createTestDb } from '../helpers/db.js';
import { testConfig } from '../helpers/server.js';

/** A server whose photo routes use `store` (null: unconfigured), on a fresh database unless one is given. */
export async function startPhotoServer(
  t: Test,
  env: Record<string, string>,
  store: PhotoStore | null,
  databaseUrl?: string,
): Promise<Server & { url: string }> {
  const url = databaseUrl ?? (await createTestDb(t));
  const config = testConfig(env);
  const server = await createServer(config, createLogger(config), url, { photoStore: store });
  t.teardown(() => server.close());
  return { ...server, url };
}
