import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors/app-error.js';
import { metricsEndpoint } from '../metrics-endpoint.js';
import type { Services } from '../services.js';

/** Operational routes: no bearer token of a user, no rate limit. */
export async function healthRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { sql, accepting, config } = services;
  const open = { config: { auth: false, rateLimit: false }, schema: { hide: true } } as const;

  app.get('/healthz', open, async () => ({ status: 'ok' }));

  app.get('/readyz', open, async () => {
    if (!accepting()) throw new AppError('SERVER_DRAINING', 'shutting down');
    try {
      await sql`SELECT 1`;
    } catch (err) {
      throw new AppError('DATABASE_UNAVAILABLE', 'the database is unavailable', undefined, { cause: err });
    }
    return { status: 'ready' };
  });

  // With METRICS_PORT set, /metrics is served on that internal listener instead.
  if (config.METRICS_PORT === undefined) metricsEndpoint(app, services);
}
