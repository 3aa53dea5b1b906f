import postgres from 'postgres';

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

/**
 * porsager 3.4.9 batches small writes with `setImmediate(nextWrite)` and mishandles that timer when
 * the socket closes (porsager/postgres#1208): `nextWrite` could call `null.write` (an uncaught
 * TypeError that killed both servers of the convergence suite during a Postgres outage), and the
 * stale timer left the connection unable to send anything again. scripts/patch-postgres.mjs
 * (postinstall) repairs both in the driver; test/db/driver-patch.test.ts reproduces the hang. This
 * guard stays for an install made with --ignore-scripts: that one TypeError is logged and
 * swallowed (the connection is closed and its queries already failed). Anything else keeps Node's
 * default (print and exit 1).
 */
export function isPorsagerClosedSocketWrite(err: unknown): boolean {
  return (
    err instanceof TypeError &&
    /reading 'write'/.test(err.message) &&
    /nextWrite/.test(err.stack ?? '') &&
    /postgres[\\/]src[\\/]connection\.js/.test(err.stack ?? '')
  );
}

let guardInstalled = false;
function guardClosedSocketWrites(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  process.on('uncaughtException', (err) => {
    if (isPorsagerClosedSocketWrite(err)) {
      process.stderr.write(`postgres: dropped a write to a closed connection (${err.message})\n`);
      return;
    }
    process.stderr.write(`${err.stack ?? String(err)}\n`);
    process.exit(1);
  });
}

/**
 * A Postgres array literal for a parameter: `${pgArray(ids)}::uuid[]`. Not porsager's `sql.array()`:
 * its element type is looked up when the query is built, from array types the pool fetches on its
 * first connection, so an array in a pool's very first query went out as the plain string "a,b" and
 * failed ("malformed array literal"; seen on a fresh instance's first membership read). Every
 * element is quoted and escaped, so any text is safe; cast the parameter to the array type.
 */
export function pgArray(values: readonly (string | number)[]): string {
  return `{${values.map((v) => (typeof v === 'number' ? String(v) : `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`)).join(',')}}`;
}

export interface SqlOptions {
  max?: number;
  applicationName?: string;
  /** Seconds before an idle pooled connection closes. */
  idleTimeout?: number;
  /** Session settings sent at connect (run-time parameters), for pools with a single job. */
  settings?: Record<string, string>;
}

/**
 * Every pool is built here, so they share the same types and settings. The LISTEN connection is
 * the exception (src/realtime/listener.ts): it needs its own driver options and is rebuilt whole.
 */
export function createSql(url: string, options: SqlOptions = {}): Sql {
  guardClosedSocketWrites();
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: options.idleTimeout ?? 30,
    connect_timeout: 10,
    // Reconnect soon after an outage: porsager's default backoff grows to 10–20 s after ~10 s down
    // (seen in test/realtime/pg-outage.test.ts); this one tops out at 2 s, with jitter.
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 2) * (0.5 + Math.random() / 2),
    onnotice: () => {},
    // `date` stays the 'YYYY-MM-DD' string of the wire instead of a JS Date at local midnight.
    types: { int8: int8AsNumber, date: { to: 1082, from: [1082], serialize: (x: string) => x, parse: (x: string) => x } },
    connection: { ...options.settings, application_name: options.applicationName ?? 'budget-sync' },
  } as postgres.Options<Record<string, postgres.PostgresType>>);
}
