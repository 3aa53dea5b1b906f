import { isUnavailable } from '../db/pg-errors.js';
import type { Sql, TransactionSql } from '../db/sql.js';

/**
 * A write transaction on a reserved connection whose BEGIN travels with its first statements and
 * whose COMMIT may travel with its last, so a batch costs two round trips instead of four.
 * The driver's `sql.begin()` awaits BEGIN before the callback runs and COMMIT after it returns:
 * two round trips of their own, and on the 2-core VM each round trip inside a write transaction
 * cost the server ~100 µs of CPU (its writes to the socket and the driver's bookkeeping) — for a
 * one-event push that was a third of the server's CPU (docs/benchmarks/2026-12-07.md).
 *
 * Statements are sent in the order they are created and run in that order (the connection is
 * ours), so BEGIN is always first. `tx` is the driver's reserved connection with a `savepoint()`
 * like the driver's transactions have, so the rest of the write path cannot tell the difference.
 */
export class Transaction {
  private savepoints = 0;
  private done = false;
  /** A query failed without an answer from Postgres: the connection is gone, never hand it back. */
  private broken = false;

  private constructor(
    private readonly reserved: Awaited<ReturnType<Sql['reserve']>>,
    readonly tx: TransactionSql,
    readonly begun: Promise<unknown>,
  ) {}

  /** Reserves a connection and queues BEGIN on it (not awaited: it goes out with what follows). */
  static async open(sql: Sql): Promise<Transaction> {
    const reserved = await sql.reserve();
    const tx = reserved as unknown as TransactionSql;
    const t = new Transaction(reserved, tx, reserved.unsafe('BEGIN').execute());
    t.begun.catch((err) => t.failed(err));
    (tx as { savepoint: unknown }).savepoint = (fn: (sp: TransactionSql) => Promise<unknown>) => t.savepoint(fn);
    return t;
  }

  /** Runs `fn` in a savepoint: its writes are undone if it throws. */
  private async savepoint<T>(fn: (sp: TransactionSql) => Promise<T>): Promise<T> {
    const name = `s${this.savepoints++}`;
    await this.tx.unsafe(`SAVEPOINT ${name}`);
    try {
      const out = await fn(this.tx);
      await this.tx.unsafe(`RELEASE SAVEPOINT ${name}`);
      return out;
    } catch (err) {
      await this.tx.unsafe(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }

  /**
   * After a connection error (CONNECTION_CLOSED, a terminated backend …) the driver has closed the
   * connection or is closing it, and takes it back itself; handing it back too would put a dead
   * connection in the pool's idle queue.
   */
  private failed(err: unknown): void {
    if (isUnavailable(err)) this.broken = true;
  }

  /**
   * Sends COMMIT now, behind the statements already sent, and waits for them and it. When one of
   * them failed, Postgres answers that COMMIT with a rollback; the failure is thrown. `last` must
   * have SENT its statements already (`.execute()`): a driver query awaited inside an async
   * function goes out a microtask later, after this COMMIT.
   */
  async commitWith<T>(last: Promise<T>): Promise<T> {
    const commit = this.tx.unsafe('COMMIT').execute();
    const [out] = await Promise.all([last, commit, this.begun]).catch(async (err) => {
      await commit.catch(() => {});
      throw err;
    });
    this.done = true;
    return out;
  }

  async commit(): Promise<void> {
    await this.commitWith(Promise.resolve());
  }

  /**
   * Ends the transaction: rolls back unless it committed, and hands the connection back — at once
   * after the last answer, before any socket event could close it in between.
   */
  async end(error?: unknown): Promise<void> {
    if (error !== undefined) this.failed(error);
    if (!this.done && !this.broken) {
      await this.tx.unsafe('ROLLBACK').then(
        () => {},
        (err) => this.failed(err),
      );
    }
    if (!this.broken) this.reserved.release();
  }
}

/** Runs `fn` in a Transaction: committed by `fn` (commit or commitWith), rolled back if it throws or does not. */
export async function inTransaction<T>(sql: Sql, fn: (t: Transaction) => Promise<T>): Promise<T> {
  const t = await Transaction.open(sql);
  let out: T;
  try {
    out = await fn(t);
  } catch (err) {
    await t.end(err);
    throw err;
  }
  await t.end();
  return out;
}
