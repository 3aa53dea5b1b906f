import type { FastifyInstance } from 'fastify';
import { createVerifier } from './auth/create-verifier.js';
import type { TokenVerifier } from './auth/verifier.js';
import type { Config } from './config/schema.js';
import { type Sql, createSql } from './db/sql.js';
import { type RoutePlugin, buildApp } from './http/app.js';
import { Metrics } from './http/metrics.js';
import type { Services } from './http/services.js';
import type { Logger } from './log.js';
import { NO_SINK, NO_WAIT } from './sync/changes.js';
import { Membership } from './sync/membership.js';
import { Processor } from './sync/processor.js';
import { Reads } from './sync/reads.js';
import { Users } from './sync/users.js';

export interface Server {
  app: FastifyInstance;
  services: Services;
  /** Stops accepting, lets in-flight requests finish (up to SHUTDOWN_GRACE_MS), closes the pool. */
  close(): Promise<void>;
}

/**
 * Wires one server instance: the pool, the verifier, the write path and the routes. Used by
 * `src/main.ts` and by tests (which pass their own database URL and, if they like, verifier).
 */
export async function createServer(
  config: Config,
  log: Logger,
  databaseUrl: string,
  overrides: { verifier?: TokenVerifier; plugins?: RoutePlugin[] } = {},
): Promise<Server> {
  const sql: Sql = createSql(databaseUrl, { max: config.DATABASE_POOL_MAX, applicationName: 'budget-sync' });
  const verifier = overrides.verifier ?? createVerifier(config);
  const sink = NO_SINK;
  const membership = new Membership(sql, sink, { participantLimit: config.PARTICIPANT_LIMIT, inviteTtlSeconds: config.INVITE_TTL_SECONDS });
  let accepting = true;
  const services: Services = {
    config,
    log,
    sql,
    verifier,
    processor: new Processor(sql, sink),
    membership,
    reads: new Reads(sql),
    users: new Users(sql, membership),
    metrics: new Metrics(),
    waiter: NO_WAIT,
    accepting: () => accepting,
  };
  const app = await buildApp(services, overrides.plugins);
  return {
    app,
    services,
    async close() {
      accepting = false;
      const grace = setTimeout(() => {
        log.warn({ graceMs: config.SHUTDOWN_GRACE_MS }, 'shutdown grace period over, closing connections');
        app.server.closeAllConnections();
      }, config.SHUTDOWN_GRACE_MS);
      grace.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(grace);
        await verifier.close?.();
        await sql.end({ timeout: 5 });
      }
    },
  };
}
