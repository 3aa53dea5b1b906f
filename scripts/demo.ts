/**
 * `npm run demo`: the sync server (embedded Postgres, `dev` auth) and the web app of examples/web on
 * an origin of its own, in one process; prints both addresses. Ctrl-C or SIGTERM stops the app's
 * server, the sync server and the embedded Postgres, in that order; a second signal more than a
 * second later exits at once.
 *
 * Settings: the server's own (PORT, EMBEDDED_PG_DIR, EMBEDDED_PG_PORT, DATABASE_URL, …), with demo
 * defaults that keep clear of `npm start`'s data; DEMO_PORT for the app (default 3001). AUTH_MODE is
 * always `dev`, and CORS_ORIGINS always includes the app's origin.
 */
import { startWebServer, type WebServer } from '../examples/web/server.js';
import { ConfigError, isLoopback, loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { type Database, openDatabase } from '../src/database.js';
import { stopOnSignals } from '../src/launcher.js';
import { createLogger } from '../src/log.js';
import { type Server, createServer } from '../src/server.js';

const DEFAULTS = { NODE_ENV: 'development', LOG_LEVEL: 'warn', EMBEDDED_PG_DIR: '.data/demo-postgres', EMBEDDED_PG_PORT: '54339' };

const demoPort = Number(process.env.DEMO_PORT ?? 3001);
if (!Number.isInteger(demoPort) || demoPort < 1 || demoPort > 65535) {
  // Not 0 either: the sync server is told the app's origin (CORS_ORIGINS) before the app listens.
  process.stderr.write(`DEMO_PORT: a port from 1 to 65535 (got ${process.env.DEMO_PORT})\n`);
  process.exit(2);
}

let config: Config;
try {
  const env: Record<string, string | undefined> = { ...DEFAULTS, ...process.env };
  const host = env.HOST || '127.0.0.1';
  const appOrigin = `http://${host.includes(':') ? `[${host}]` : host}:${demoPort}`;
  config = loadConfig({
    ...env,
    // The demo signs people in with `dev` tokens whatever else the environment says.
    AUTH_MODE: 'dev',
    // Exactly the app's origin (and any the user allowed): pages of other local servers are refused,
    // as in production, so the demo shows CORS at work rather than the development default.
    CORS_ORIGINS: [appOrigin, env.CORS_ORIGINS].filter(Boolean).join(','),
  });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}
if (!isLoopback(config.HOST)) {
  // The app's server hands a sign-in token to whoever asks: it must not be reachable from outside.
  process.stderr.write(`the demo listens on loopback only (HOST=${config.HOST})\n`);
  process.exit(2);
}
const log = createLogger(config);
const say = (line: string) => process.stdout.write(`${line}\n`);

let database: Database | undefined;
let opening: Promise<Database> | undefined;
let server: Server | undefined;
let web: WebServer | undefined;

/** The app's server, the sync server, then the embedded Postgres (once it is up, if a signal came while it started). */
async function stopAll(): Promise<void> {
  await web?.close();
  await server?.close();
  await (database ?? (await opening?.catch(() => undefined)))?.stop();
}
// Installed first (src/launcher.ts: SIGINT, SIGTERM, SIGHUP; a repeat within a second is the same
// Ctrl-C), so a signal while Postgres starts still stops what exists so far.
stopOnSignals(
  async (signal) => {
    say(`${signal}: stopping…`);
    await stopAll();
    say('stopped');
    return 0;
  },
  { deadlineMs: config.SHUTDOWN_GRACE_MS + 10_000, log: say },
);

try {
  say(`starting${config.DATABASE_URL ? '' : ` (embedded Postgres in ${config.EMBEDDED_PG_DIR}; the first start takes a few seconds)`}…`);
  opening = openDatabase(config, log);
  database = await opening;
  server = await createServer(config, log, database.url);
  await server.app.listen({ host: config.HOST, port: config.PORT });
  const apiUrl = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT}`;
  web = await startWebServer({
    apiUrl,
    devAuthSecret: config.DEV_AUTH_SECRET,
    host: config.HOST,
    port: demoPort,
  });
  say('');
  say(`  The app:          ${web.origin}   ← open it in two windows, sign in as two people`);
  say(`  The sync server:  ${apiUrl}   (GET /openapi.json; the app reaches it across origins)`);
  say('');
  say('  Ctrl-C stops both and the embedded Postgres.');
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`the demo could not start: ${message}\n`);
  if ((err as { code?: string }).code === 'EADDRINUSE')
    process.stderr.write('a port is taken: set PORT (sync server) or DEMO_PORT (app)\n');
  await stopAll().catch(() => {});
  process.exit(1);
}
