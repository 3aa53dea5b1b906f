import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors/app-error.js';
import type { Services } from '../services.js';

/** Operational routes: no auth, no rate limit. */
export async function healthRoutes(app: FastifyInstance, { sql, metrics, accepting }: Services): Promise<void> {
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

  app.get('/metrics', open, async (_req, reply) => {
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
