import postgres from 'postgres';
import { waitingConnect } from './reconnect.js';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

/**
 * int8 as a JS number: sequences, versions and epoch-ms times stay far below 2^53, and the wire
 * carries numbers. `parse` refuses values that would lose precision rather than corrupt them.
 */
const int8AsNumber = {
  to: 20,
  from: [20],
  serialize: (x: number | bigint | string) => String(x),
  parse: (x: string) => {
    const n = Number(x);
    if (!Number.isSafeInteger(n)) throw new RangeError(`int8 ${x} exceeds 2^53`);
    return n;
  },
};

export interface SqlOptions {
  max?: number;
  applicationName?: string;
  /** Seconds before an idle pooled connection closes. */
  idleTimeout?: number;
  /** Session settings sent at connect (run-time parameters), for pools with a single job. */
  settings?: Record<string, string>;
  /**
   * While Postgres is unreachable, the longest a query or transaction waits for a connection, then
   * fails with QUEUE_TIMEOUT (a 503; src/db/reconnect.ts). Otherwise, and by default, no limit. The
   * request pool sets REQUEST_WAIT_MS.
   */
  outageWaitMs?: number;
  /** How long a connect attempt waits for Postgres to come back (src/db/reconnect.ts); 0: not at all. */
  reconnectWaitMs?: number;
}

/**
 * Every pool is built here, so they share the same types and settings. The LISTEN connection is
 * the exception (src/realtime/listener.ts): it needs its own driver options and is rebuilt whole.
 */
export function createSql(url: string, options: SqlOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: options.idleTimeout ?? 30,
    connect_timeout: 10,
    // The pause before the pool tries again after a failed connect attempt; while it lasts, queries
    // fail at once. An attempt itself already waits for a server that is down (src/db/reconnect.ts),
    // so the pause stays short: capped at 0.5 s (the driver's default grows to 20 s). The LISTEN
    // connection's re-LISTEN retries on it too.
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 0.5) * (0.5 + Math.random() / 2),
    socket: waitingConnect(url, { waitMs: options.reconnectWaitMs, outageWaitMs: options.outageWaitMs }),
    onnotice: () => {},
    // `date` stays the 'YYYY-MM-DD' string of the wire instead of a JS Date at local midnight.
    types: { int8: int8AsNumber, date: { to: 1082, from: [1082], serialize: (x: string) => x, parse: (x: string) => x } },
    connection: { ...options.settings, application_name: options.applicationName ?? 'budget-sync' },
  } as postgres.Options<Record<string, postgres.PostgresType>>);
}
