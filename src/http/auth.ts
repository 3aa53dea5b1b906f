import { BEARER_PROTOCOL_PREFIX } from '@budget-sync/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal, TokenVerifier } from '../auth/verifier.js';
import { AppError } from '../errors/app-error.js';
import type { Users } from '../sync/users.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** `false` for the operational routes (health, metrics, OpenAPI); every other route needs a token. */
    auth?: boolean;
  }
}

/** The bearer token of a request: the Authorization header, or the browser subprotocol pair on /sync. */
export function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1] ?? '';
  }
  const protocols = req.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    const bearer = protocols
      .split(',')
      .map((p) => p.trim())
      .find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
    if (bearer) return bearer.slice(BEARER_PROTOCOL_PREFIX.length);
  }
  return undefined;
}

/**
 * Verifies the bearer token before anything else runs (also before a WebSocket upgrade, so a bad
 * token is refused with 401), and makes sure the user's row exists.
 */
export function registerAuth(app: FastifyInstance, verifier: TokenVerifier, users: Users): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.config.auth === false || req.routeOptions.url === undefined) return;
    const token = bearerToken(req);
    if (!token) throw new AppError('UNAUTHENTICATED', 'a bearer token is required');
    req.principal = await verifier.verify(token);
    await users.ensure(req.principal);
  });
}

/** The verified caller of an authenticated route. */
export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new AppError('UNAUTHENTICATED', 'a bearer token is required');
  return req.principal;
}
