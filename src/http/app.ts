import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import { proxyTrust } from '../config/load.js';
import { AppError } from '../errors/app-error.js';
import { registerAuth } from './auth.js';
import { registerCors } from './cors.js';
import { frameworkErrors, registerErrorHandlers } from './errors.js';
import { budgetRoutes } from './routes/budgets.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { membershipRoutes } from './routes/membership.js';
import { userRoutes } from './routes/users.js';
import type { Services } from './services.js';
import { validatorCompiler } from './validation.js';

/** Extra route plugins (the socket, photos) registered after the core routes. */
export type RoutePlugin = (app: FastifyInstance, services: Services) => Promise<void>;

/**
 * Builds the fastify app on the given services. It never listens: `src/server.ts` does, and tests
 * drive it with `inject`.
 */
export async function buildApp(services: Services, plugins: RoutePlugin[] = []): Promise<FastifyInstance> {
  const { config, metrics } = services;
  const app = Fastify({
    loggerInstance: services.log as FastifyBaseLogger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Long-polls hold requests up to 60 s; keep-alive sockets must outlive them.
    requestTimeout: 0,
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
    // One line per request at debug (onResponse below) instead of fastify's two at info.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    // The client address behind load balancers (per-address limits count it).
    trustProxy: proxyTrust(config),
    // Uids may be 128 characters (fastify's default limit is 100); bad URLs get our envelope.
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
  });
  // An empty body with a JSON content type (common from HTTP clients on DELETE/POST without a body)
  // means "no body", not malformed JSON.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body.length === 0) return done(null, undefined);
    parseJson(req, body as string, done);
  });
  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandlers(app);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'budget-sync',
        version: '1',
        description: 'Real-time sync server for offline-first budgeting apps. See docs/protocol.md.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'Firebase ID token' } } },
      security: [{ bearer: [] }],
    },
  });

  // Security headers on every answer (nosniff among them). An API answers JSON, never a page:
  // nothing in an answer may load or run, nor be framed.
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  });
  // Before the limiter and the auth hook: a preflight carries no token and must not count.
  await registerCors(app, config);

  await app.register(rateLimit, {
    global: true,
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    // Runs after auth, so the budget is per user (routes without a token: per address). Failed
    // authentications never get here: registerAuth counts them per address, before the token.
    hook: 'preHandler',
    keyGenerator: (req) => (req.principal ? `u:${req.principal.uid}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, ctx) =>
      new AppError('RATE_LIMITED', `too many requests, retry in ${Math.ceil(ctx.ttl / 1000)} s`, undefined, { statusCode: ctx.statusCode }),
  });
  registerAuth(app, services.verifier, services.users, { max: config.RATE_LIMIT_AUTH_FAILURES_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requestDone(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    req.log.debug({ method: req.method, route, status: reply.statusCode, ms: reply.elapsedTime }, 'request completed');
  });

  for (const routes of [healthRoutes, userRoutes, budgetRoutes, membershipRoutes, eventRoutes, ...plugins]) {
    await app.register(async (scope) => routes(scope, services));
  }

  app.get('/openapi.json', { config: { auth: false, rateLimit: false }, schema: { hide: true } }, async () => app.swagger());
  return app;
}
