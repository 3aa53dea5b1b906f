import { ConfigError, loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { type Database, openDatabase } from './database.js';
import { stopOnSignals } from './launcher.js';
import { createLogger } from './log.js';
import { type Server, createServer } from './server.js';

/**
 * After the shutdown grace (in-flight requests), the pool's own 5 s to end and the embedded
 * Postgres's stop (~0.3 s), a process still alive is cut short.
 */
const STOP_MARGIN_MS = 10_000;

/** Process entry: config → database → server → listen; SIGTERM/SIGINT/SIGHUP drain and stop in reverse. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config);
  // Installed before anything starts, so a signal during start-up (an embedded Postgres being
  // initialised) stops what exists so far.
  let database: Database | undefined;
  let server: Server | undefined;
  stopOnSignals(
    async (signal) => {
      log.info({ signal }, 'shutting down');
      await server?.close();
      await database?.stop();
      log.info('stopped');
      return 0;
    },
    { deadlineMs: config.SHUTDOWN_GRACE_MS + STOP_MARGIN_MS, log: (message) => log.warn(message) },
  );
  database = await openDatabase(config, log);
  server = await createServer(config, log, database.url);
  await server.app.listen({ host: config.HOST, port: config.PORT, backlog: config.LISTEN_BACKLOG });
  await server.metricsApp?.listen({ host: config.HOST, port: config.METRICS_PORT });
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
