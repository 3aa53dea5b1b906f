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
    // Imported only here: the package loads its 60 MB of binaries on import, which a deployment
    // with DATABASE_URL never needs.
    const { startEmbeddedPostgres } = await import('./db/embedded.js');
    const cluster = await startEmbeddedPostgres({
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
