/**
 * The OpenAPI document without a database: the app is built on services that are never called
 * (building the routes only reads the config), exactly as `src/server.ts` builds it, and asked for
 * its document. `npm run docs` writes it to docs/openapi.json; a test compares that file with what
 * a running server serves.
 */
import { loadConfig } from '../src/config/load.js';
import { buildApp } from '../src/http/app.js';
import { Metrics } from '../src/metrics.js';
import { photoRoutes } from '../src/http/routes/photos.js';
import type { Services } from '../src/http/services.js';
import { createLogger } from '../src/log.js';

/** The document `GET /openapi.json` serves, as pretty-printed JSON with a final newline. */
export async function openApiJson(): Promise<string> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', AUTH_MODE: 'dev' });
  const unused = () => {
    throw new Error('the document builder calls no service');
  };
  const services = {
    config,
    log: createLogger(config),
    metrics: new Metrics(),
    accepting: () => true,
    sql: unused,
    verifier: { verify: unused },
    users: {},
    processor: {},
    membership: {},
    reads: {},
    waiter: {},
  } as unknown as Services;
  const app = await buildApp(services, [photoRoutes(null)]);
  try {
    await app.ready();
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
  }
}
