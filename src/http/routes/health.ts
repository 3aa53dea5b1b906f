import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors/app-error.js';
import { ref } from '../../protocol/components.js';
import { metricsEndpoint } from '../metrics-endpoint.js';
import { HealthStatus, errors } from '../responses.js';
import type { Services } from '../services.js';

/** Operational routes: no bearer token of a user, no rate limit. */
export async function healthRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { sql, accepting, config } = services;
  const open = { config: { auth: false, rateLimit: false } } as const;
  const doc = { tags: ['operations'], security: [] };

  app.get(
    '/healthz',
    { ...open, schema: { ...doc, operationId: 'getHealth', summary: 'Alive (the process answers)', response: { 200: ref(HealthStatus) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      ...open,
      schema: {
        ...doc,
        operationId: 'getReadiness',
        summary: 'Ready for traffic: Postgres answers and the instance is not shutting down',
        response: { 200: ref(HealthStatus), ...errors(500, 503) },
      },
    },
    async () => {
      if (!accepting()) throw new AppError('SERVER_DRAINING', 'shutting down');
      try {
        await sql`SELECT 1`;
      } catch (err) {
        throw new AppError('DATABASE_UNAVAILABLE', 'the database is unavailable', undefined, { cause: err });
      }
      return { status: 'ready' as const };
    },
  );

  // With METRICS_PORT set, /metrics is served on that internal listener instead.
  if (config.METRICS_PORT === undefined) metricsEndpoint(app, services);
}
