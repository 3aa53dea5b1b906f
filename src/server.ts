import type { FastifyInstance } from 'fastify';
import { createVerifier } from './auth/create-verifier.js';
import { authMode } from './config/load.js';
import type { TokenVerifier } from './auth/verifier.js';
import type { Config } from './config/schema.js';
import { REQUEST_WAIT_MS } from './db/reconnect.js';
import { type Sql, createSql } from './db/sql.js';
import { type RoutePlugin, buildApp } from './http/app.js';
import { Metrics } from './metrics.js';
import { buildMetricsApp } from './http/metrics-endpoint.js';
import type { Services } from './http/services.js';
import type { Logger } from './log.js';
import { photoRoutes } from './http/routes/photos.js';
import { socketRoute } from './http/routes/socket.js';
import { notifyQueueUsage } from './realtime/notifier.js';
import { Realtime } from './realtime/realtime.js';
import type { PhotoStore } from './storage/photo-store.js';
import { photoCleanup } from './storage/photos.js';
import { createS3PhotoStore } from './storage/s3-photo-store.js';
import { Membership } from './sync/membership.js';
import { Processor } from './sync/processor.js';
import { Reads } from './sync/reads.js';
import { Users } from './sync/users.js';

export interface Server {
  app: FastifyInstance;
  services: Services;
  /** The METRICS_PORT listener (`/metrics` only), when that is set; the caller listens. */
  metricsApp?: FastifyInstance;
  /** The sockets, the fan-out hub, the notifier and the LISTEN connection of this instance. */
  realtime: Realtime;
  /**
   * Stops accepting, closes every socket with 1001, answers long-polls, stops the real-time timers
   * and the LISTEN connection, lets in-flight requests finish (up to SHUTDOWN_GRACE_MS), sends the
   * last NOTIFY and closes the pool.
   */
  close(): Promise<void>;
}

/**
 * Wires one server instance: the pool, the verifier, the write path, the real-time side and the
 * routes. Used by `src/main.ts` and by tests (which pass their own database URL and, if they like,
 * verifier).
 */
export async function createServer(
  config: Config,
  log: Logger,
  databaseUrl: string,
  overrides: { verifier?: TokenVerifier; plugins?: RoutePlugin[]; photoStore?: PhotoStore | null } = {},
): Promise<Server> {
  if (authMode(config) === 'dev') {
    log.warn(
      { host: config.HOST },
      'dev auth mode: whoever knows DEV_AUTH_SECRET signs in as any user; for development only, never reachable from outside',
    );
  }
  // While Postgres is unreachable, a request waits at most REQUEST_WAIT_MS for it, then answers 503.
  const sql: Sql = createSql(databaseUrl, {
    max: config.DATABASE_POOL_MAX,
    applicationName: 'budget-sync',
    outageWaitMs: REQUEST_WAIT_MS,
  });
  const verifier = overrides.verifier ?? createVerifier(config);
  const metrics = new Metrics({ notifyQueueUsage: () => notifyQueueUsage(sql) });
  const realtime = new Realtime({ config, databaseUrl, sql, metrics, log });
  // The hub is told after every commit (ChangeSink) and holds long-polls (StreamWaiter).
  const sink = realtime.hub;
  const membership = new Membership(sql, sink, { participantLimit: config.PARTICIPANT_LIMIT, inviteTtlSeconds: config.INVITE_TTL_SECONDS });
  const processor = new Processor(sql, sink, metrics);
  // null without S3 settings: the photo routes then answer 503 STORAGE_NOT_CONFIGURED.
  const photoStore = overrides.photoStore !== undefined ? overrides.photoStore : createS3PhotoStore(config);
  let accepting = true;
  let closing: Promise<void> | undefined;
  const services: Services = {
    config,
    log,
    sql,
    verifier,
    processor,
    membership,
    reads: new Reads(sql),
    users: new Users(sql, membership),
    metrics,
    waiter: realtime.hub,
    accepting: () => accepting,
    ...(photoStore ? { photoCleanup: photoCleanup(photoStore) } : {}),
  };
  const sockets = realtime.attach(processor, verifier);
  const app = await buildApp(services, [socketRoute(sockets), photoRoutes(photoStore), ...(overrides.plugins ?? [])]);
  const metricsApp = config.METRICS_PORT === undefined ? undefined : await buildMetricsApp(services);
  await realtime.start();
  return {
    app,
    services,
    ...(metricsApp ? { metricsApp } : {}),
    realtime,
    close() {
      closing ??= stop();
      return closing;
    },
  };

  async function stop(): Promise<void> {
    accepting = false;
    const grace = setTimeout(() => {
      log.warn({ graceMs: config.SHUTDOWN_GRACE_MS }, 'shutdown grace period over, closing connections');
      app.server.closeAllConnections();
    }, config.SHUTDOWN_GRACE_MS);
    grace.unref();
    // Requests in flight when the close began (long-polls answered by the drain, pushes) leave
    // keep-alive connections that only become idle later; close them as they do, instead of
    // waiting out SHUTDOWN_GRACE_MS.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
    sweep.unref();
    try {
      await realtime.drain();
      await app.close();
    } finally {
      await metricsApp?.close();
      clearInterval(sweep);
      clearTimeout(grace);
      await realtime.close();
      await verifier.close?.();
      await sql.end({ timeout: 5 });
    }
  }
}
