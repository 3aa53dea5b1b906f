/**
 * Checks of wire values done on the device before an edit is queued, so that a typo fails at once
 * (a thrown `TypeError`) instead of showing optimistically and coming back `rejected` later. The
 * rules are the protocol package's, the same the server builds its schemas from; the server stays
 * the judge of everything else.
 */
import { isCalendarDate, isUuid, normaliseMoney } from '@budget-sync/protocol';

/** A UUID in lower case (the server answers lower case; local keys must match its answers). */
export function uuid(value: string, field: string): string {
  if (!isUuid(value)) throw new TypeError(`${field} must be a UUID`);
  return value.toLowerCase();
}

/** Money is a decimal string, normalised to two decimals like the server does ("150" → "150.00"). */
export function money(value: string, field: string): string {
  const normal = typeof value === 'string' ? normaliseMoney(value) : undefined;
  if (normal === undefined) throw new TypeError(`${field} must be a decimal string like "12.50"`);
  return normal;
}

/** A real calendar date `YYYY-MM-DD`. */
export function date(value: string, field: string): string {
  if (typeof value !== 'string' || !isCalendarDate(value)) throw new TypeError(`${field} must be a calendar date YYYY-MM-DD`);
  return value;
}

/** Non-empty text up to `max` characters. */
export function text(value: string, field: string, max: number, min = 1): string {
  if (typeof value !== 'string' || value.length < min || value.length > max)
    throw new TypeError(`${field} must be ${min}..${max} characters`);
  return value;
}

/**
 * The claims of a JWT (a Firebase ID token is one), without verifying it — only to learn `exp`
 * (when to refresh) and `sub` (the user id). Undefined when the token is not a readable JWT.
 */
export function jwtClaims(token: string): { exp?: number; sub?: string; user_id?: string } | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const b64 = part
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(part.length / 4) * 4, '=');
    const json = decodeURIComponent(Array.from(atob(b64), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''));
    const claims: unknown = JSON.parse(json);
    return typeof claims === 'object' && claims !== null ? (claims as { exp?: number; sub?: string }) : undefined;
  } catch {
    return undefined;
  }
}
