import { createHmac, timingSafeEqual } from 'node:crypto';
import { principalFromClaims, unauthenticated } from './claims.js';
import type { Principal, TokenVerifier } from './verifier.js';

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
export const DEV_ISSUER = 'budget-sync-dev';

/** Mints a local development token (HS256 JWT) for a uid; `npm run token -- alice` prints one. */
export function mintDevToken(
  secret: string,
  uid: string,
  options: { ttlSeconds?: number; email?: string; name?: string; nowMs?: number } = {},
): string {
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const claims: Record<string, unknown> = { iss: DEV_ISSUER, sub: uid, iat, auth_time: iat, exp: iat + (options.ttlSeconds ?? 3600) };
  if (options.email !== undefined) claims.email = options.email;
  if (options.name !== undefined) claims.name = options.name;
  const body = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${body}.${sign(secret, body)}`;
}

/** Verifies tokens of `mintDevToken`. Only for local development: config refuses it in production. */
export class DevVerifier implements TokenVerifier {
  constructor(private readonly secret: string) {}

  async verify(token: string): Promise<Principal> {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== HEADER) throw unauthenticated('malformed token');
    const expected = Buffer.from(sign(this.secret, `${parts[0]}.${parts[1]}`));
    const given = Buffer.from(parts[2] ?? '');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw unauthenticated('bad token signature');
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'));
    } catch (e) {
      throw unauthenticated('malformed token', e);
    }
    if (typeof claims !== 'object' || claims === null || (claims as { iss?: unknown }).iss !== DEV_ISSUER) {
      throw unauthenticated('token is not a dev token');
    }
    return principalFromClaims(claims as Record<string, unknown>);
  }
}

function sign(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}
