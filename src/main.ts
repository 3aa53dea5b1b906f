import { ConfigError, loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { openDatabase } from './database.js';
import { createLogger } from './log.js';
import { createServer } from './server.js';

/** Process entry: config → database → server → listen; SIGTERM/SIGINT drain and stop in reverse. */
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
  const database = await openDatabase(config, log);
  const server = await createServer(config, log, database.url);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    try {
      await server.close();
      await database.stop();
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  await server.app.listen({ host: config.HOST, port: config.PORT, backlog: config.LISTEN_BACKLOG });
  await server.metricsApp?.listen({ host: config.HOST, port: config.METRICS_PORT });
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
