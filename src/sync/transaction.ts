import type { Sql, TransactionSql } from '../db/sql.js';

/**
 * Sends COMMIT behind statements already sent (`.execute()`d: a driver query awaited inside an
 * async function goes out a microtask later, after the COMMIT) and resolves with their result once
 * COMMIT is done. When one of them failed, Postgres answers that COMMIT with a rollback, and the
 * failure is thrown.
 */
export type CommitWith = <T>(statements: Promise<T>) => Promise<T>;

/**
 * A write transaction (the driver's `sql.begin()`) whose COMMIT can travel with its last
 * statements. `sql.begin()` sends COMMIT only once its callback has returned, so a callback that
 * awaits its last statement's answer and then returns pays a round trip for COMMIT alone; on the
 * 2-core VM each round trip inside a write transaction cost the server ~100 µs of CPU (its socket
 * writes and the driver's bookkeeping; docs/benchmarks/2026-12-07.md). `commitWith(last)` ends the
 * callback the driver sees at once — it then sends COMMIT on the same connection, right behind
 * `last` — while `fn` goes on to read `last`'s answer. `fn` must send nothing after it.
 * Without `commitWith`, the transaction commits when `fn` returns, as `sql.begin()` does.
 *
 * (A reserved connection with BEGIN sent beside the first statements saves one more round trip;
 * it was tried and not kept: in the one convergence run made with it, pushes still failed with
 * DATABASE_UNAVAILABLE 12 s after Postgres came back and devices did not catch up. The driver's
 * reserve() lives outside its begin()/reconnect path; not investigated further.)
 */
export async function inTransaction<T>(sql: Sql, fn: (tx: TransactionSql, commitWith: CommitWith) => Promise<T>): Promise<T> {
  let outcome: Promise<T> | undefined;
  const committed: Promise<unknown> = sql.begin(
    (tx) =>
      new Promise<void>((release, fail) => {
        const commitWith: CommitWith = (statements) => {
          release();
          return Promise.all([statements, committed]).then(([out]) => out);
        };
        outcome = fn(tx, commitWith);
        outcome.then(() => release(), fail);
      }),
  );
  try {
    await committed;
  } catch (err) {
    // A statement sent with COMMIT failed: Postgres answers that COMMIT with ROLLBACK, and the
    // driver (4.x) rejects `begin` with its own TRANSACTION_ROLLED_BACK. The statement's error
    // (a unique violation, a lost connection) is what the caller must see; `outcome` carries it.
    await outcome;
    throw err;
  }
  return (outcome as Promise<T>).then((out) => out);
}
