import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { AppError } from '../errors/app-error.js';
import { bearerToken } from './auth.js';
import { registerErrorHandlers } from './errors.js';
import type { Services } from './services.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * `GET /metrics` in Prometheus text. With METRICS_TOKEN set only `Authorization: Bearer <token>`
 * scrapes (Prometheus's `authorization` setting); the digests are compared in constant time, so the
 * answer's timing says nothing about how much of a guess was right.
 */
export function metricsEndpoint(app: FastifyInstance, { config, metrics }: Services): void {
  const expected = config.METRICS_TOKEN === undefined ? undefined : digest(config.METRICS_TOKEN);
  app.get('/metrics', { config: { auth: false, rateLimit: false }, schema: { hide: true } }, async (req, reply) => {
    if (expected && !timingSafeEqual(digest(bearerToken(req) ?? ''), expected)) {
      void reply.header('www-authenticate', 'Bearer');
      throw new AppError('UNAUTHENTICATED', 'scraping /metrics needs the METRICS_TOKEN bearer token');
    }
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

/**
 * The internal listener of METRICS_PORT: `/metrics` and nothing else, so the API port (the one a
 * load balancer publishes) does not serve it and a scrape never competes with API traffic for the
 * API's limits. `src/server.ts` builds it; `src/main.ts` listens.
 */
export async function buildMetricsApp(services: Services): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });
  registerErrorHandlers(app);
  metricsEndpoint(app, services);
  return app;
}
