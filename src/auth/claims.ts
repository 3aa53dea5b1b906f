import { AppError } from '../errors/app-error.js';
import type { Principal } from './verifier.js';

/** Clock skew tolerated between us and the token issuer. */
export const CLOCK_SKEW_SECONDS = 60;

/**
 * The checks firebase-admin skips (docs/dependencies.md, "firebase-admin"): `exp` must be present, `iat` and `auth_time` must
 * not lie in the future. Applied to every verifier's decoded claims, then mapped to a Principal.
 */
export function principalFromClaims(claims: Record<string, unknown>, nowMs = Date.now()): Principal {
  const now = Math.floor(nowMs / 1000);
  const { sub, exp, iat, auth_time: authTime } = claims;
  // A NUL cannot be stored in Postgres text; such a uid could never own a row.
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 128 || sub.includes('\u0000'))
    throw unauthenticated('token has no valid subject');
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw unauthenticated('token has no expiry');
  if (exp <= now) throw new AppError('TOKEN_EXPIRED', 'token has expired');
  if (typeof iat !== 'number') throw unauthenticated('token has no issue time');
  if (iat > now + CLOCK_SKEW_SECONDS) throw unauthenticated('token issued in the future');
  if (authTime !== undefined && (typeof authTime !== 'number' || authTime > now + CLOCK_SKEW_SECONDS)) {
    throw unauthenticated('token authenticated in the future');
  }
  const principal: Principal = { uid: sub, expiresAt: exp * 1000 };
  // Profile claims are the user's own text (a display name); NULs are dropped rather than locking
  // the user out with a 500 on every request.
  if (typeof claims.email === 'string') principal.email = stripNul(claims.email);
  if (typeof claims.name === 'string') principal.name = stripNul(claims.name);
  return principal;
}

export const unauthenticated = (message: string, cause?: unknown): AppError =>
  new AppError('UNAUTHENTICATED', message, undefined, { cause });

const stripNul = (s: string) => s.replaceAll('\u0000', '');
