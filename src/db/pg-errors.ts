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
