import { BEARER_PROTOCOL_PREFIX } from '@budget-sync/protocol';
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal, TokenVerifier } from '../auth/verifier.js';
import { AppError, isAppError } from '../errors/app-error.js';
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

/** Failed authentications an address may have per window before it is refused unchecked. */
export interface AuthFailureLimit {
  max: number;
  windowMs: number;
}

/** A refusal of the token itself (counted), not an outage of the identity provider (not counted). */
const isAuthFailure = (err: unknown) => isAppError(err) && (err.code === 'UNAUTHENTICATED' || err.code === 'TOKEN_EXPIRED');

/**
 * Verifies the bearer token before anything else runs (also before a WebSocket upgrade, so a bad
 * token is refused with 401), and makes sure the user's row exists. Failures are counted per client
 * address (IPv6 by /64, as the rate limiter does), and an address past `limit` gets 429 before its
 * token is looked at: a guesser learns nothing more until the window ends. Needs @fastify/rate-limit
 * registered first (its store keeps the counts).
 */
export function registerAuth(app: FastifyInstance, verifier: TokenVerifier, users: Users, limit: AuthFailureLimit): void {
  const failures = app.createRateLimit({
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: (req) => `auth-failures:${normalizeIP(req.ip)}`,
  });
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.config.auth === false || req.routeOptions.url === undefined) return;
    // A user's data, and the refusals that tell who may see what: no cache may keep them.
    void reply.header('cache-control', 'no-store');
    const seen = await failures(req, { increment: false });
    if (!seen.isAllowed && seen.remaining === 0) {
      void reply.header('retry-after', String(seen.ttlInSeconds));
      throw new AppError('RATE_LIMITED', `too many failed authentications, retry in ${seen.ttlInSeconds} s`);
    }
    try {
      const token = bearerToken(req);
      if (!token) throw new AppError('UNAUTHENTICATED', 'a bearer token is required');
      req.principal = await verifier.verify(token);
    } catch (err) {
      if (isAuthFailure(err)) await failures(req);
      throw err;
    }
    await users.ensure(req.principal);
  });
}

/** The verified caller of an authenticated route. */
export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new AppError('UNAUTHENTICATED', 'a bearer token is required');
  return req.principal;
}
