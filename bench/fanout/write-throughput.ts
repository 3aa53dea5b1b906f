/** Phase 1 of the fan-out benchmark: write throughput with the coalesced notifier, in-transaction NOTIFY and none. */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { type Sql, createSql } from '../../src/db/sql.js';
import { Metrics } from '../../src/metrics.js';
import { Notifier, createNotifierSql } from '../../src/realtime/notifier.js';
import { encodeNotice } from '../../src/realtime/notify-payload.js';
import { type ChangeSink, NO_SINK } from '../../src/sync/changes.js';
import { Membership } from '../../src/sync/membership.js';
import { Processor } from '../../src/sync/processor.js';
import { categoryAdd } from './common.js';

const CHANNEL = 'budget_sync';

/** The same Sql, but every `begin` also NOTIFYs inside the transaction, before COMMIT. */
function notifyingInTransaction(sql: Sql): Sql {
  const payload = () =>
    encodeNotice({ instanceId: 'bench-in-tx', pointers: [{ budgetId: randomUUID(), sequence: 1 }], membership: [] })[0] as string;
  return new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop !== 'begin') return Reflect.get(target, prop, receiver);
      return (fn: (tx: never) => Promise<unknown>) =>
        target.begin(async (tx) => {
          const result = await fn(tx as never);
          await tx`SELECT pg_notify(${CHANNEL}, ${payload()})`;
          return result;
        });
    },
  });
}

/**
 * What one commit's WAL flush costs here: one writer of single-row autocommit INSERTs for a second
 * with synchronous_commit on, then off; the difference per commit is the flush. NOTIFY's commit lock
 * is held through that flush, so in-transaction NOTIFY caps the cluster at ~1 / flush commits/s.
 */
export async function walFlush(url: string): Promise<{ onPerSecond: number; offPerSecond: number; flushUs: number }> {
  const on = createSql(url, { max: 1, applicationName: 'bench-flush' });
  const off = createSql(url, { max: 1, applicationName: 'bench-flush', settings: { synchronous_commit: 'off' } });
  try {
    await on`CREATE TABLE IF NOT EXISTS bench_flush (x int)`;
    const rate = async (sql: Sql) => {
      const stop = Date.now() + 1000;
      let n = 0;
      for (; Date.now() < stop; n++) await sql`INSERT INTO bench_flush VALUES (1)`;
      return n;
    };
    await rate(off); // warm both connections and the table
    const onPerSecond = await rate(on);
    const offPerSecond = await rate(off);
    return { onPerSecond, offPerSecond, flushUs: Math.max(0, 1e6 / onPerSecond - 1e6 / offPerSecond) };
  } finally {
    await on`DROP TABLE IF EXISTS bench_flush`;
    await Promise.all([on.end({ timeout: 5 }), off.end({ timeout: 5 })]);
  }
}

export async function writeThroughput(url: string, seconds: number): Promise<(string | number)[][]> {
  const writers = 8;
  const sql = createSql(url, { max: writers + 2, applicationName: 'bench-writer' });
  const membership = new Membership(sql, NO_SINK, { participantLimit: 10, inviteTtlSeconds: 3600 });
  const budgets: string[] = [];
  for (let i = 0; i < writers; i++) {
    const id = randomUUID();
    await membership.createBudget(`tw${i}`, { eventId: randomUUID(), id, title: 'tw', when: Date.now() });
    budgets.push(id);
  }
  // Like the server (src/realtime/realtime.ts): the notifier has connections of its own, apart from the writers' pool.
  const notifierSql = createNotifierSql(url, 'bench-notifier');
  const notifier = new Notifier(notifierSql, CHANNEL, 'bench-writer', new Metrics(), pino({ level: 'silent' }));
  const coalesced: ChangeSink = { committed: (p, m) => notifier.publish(p, m) };
  const variants: [string, Processor][] = [
    ['no NOTIFY (floor)', new Processor(sql, NO_SINK)],
    ['coalesced notifier after commit (server)', new Processor(sql, coalesced)],
    ['NOTIFY inside the write transaction', new Processor(notifyingInTransaction(sql), NO_SINK)],
  ];
  const best = new Map<string, number>();
  // Two interleaved rounds, best of each, so drift (autovacuum, page cache) hits all variants alike.
  for (let round = 0; round < 2; round++) {
    for (const [name, processor] of variants) {
      const stop = Date.now() + seconds * 1000;
      let events = 0;
      await Promise.all(
        budgets.map(async (b, i) => {
          while (Date.now() < stop) {
            await processor.push([categoryAdd(b)], `tw${i}`);
            events++;
          }
        }),
      );
      best.set(name, Math.max(best.get(name) ?? 0, events / seconds));
    }
  }
  await notifier.close();
  await notifierSql.end({ timeout: 5 });
  await sql.end({ timeout: 5 });
  const floor = best.get(variants[0]?.[0] as string) ?? 1;
  return variants.map(([name]) => [name, Math.round(best.get(name) ?? 0), `${(((best.get(name) ?? 0) / floor) * 100).toFixed(0)}%`]);
}
