import { AppError } from '../errors/app-error.js';

/**
 * SQLSTATE classes and driver errnos that mean "the database is not reachable right now" — the
 * client should retry, so they answer 503, never 500. Everything else is a bug and stays a 500.
 * 08: connection exception; 57P01-03: admin shutdown / crash / cannot connect now;
 * 53300: too many connections.
 */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[123]|53300)/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  // Waited the pool's bound for a connection while Postgres was unreachable (src/db/reconnect.ts).
  'QUEUE_TIMEOUT',
]);

export function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code));
}

/**
 * What a boundary (HTTP handler, socket message) answers for any thrown value: AppErrors as they
 * are, "database unreachable" as 503 DATABASE_UNAVAILABLE, anything else as 500 INTERNAL.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isUnavailable(err))
    return new AppError('DATABASE_UNAVAILABLE', 'the database is unavailable, retry later', undefined, { cause: err });
  return new AppError('INTERNAL', 'internal error', undefined, { cause: err });
}
