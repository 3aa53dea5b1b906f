/**
 * Where an access refusal is confirmed (src/sync/access.ts): on the pool, a refusal is read a second
 * time in a transaction of its own before it is given; inside the caller's transaction it is not —
 * that transaction's snapshot (and lock) decides, and a "second read" there would only be a
 * savepoint repeating the same snapshot. The driver's transactions have `begin` (a savepoint) just
 * like the pool, so the two must not be told apart by probing the handle.
 */
import t from 'tap';
import type { Sql, TransactionSql } from '../../src/db/sql.js';
import { requireParticipant, requireParticipantIn } from '../../src/sync/access.js';
import { setup } from './fixtures/support.js';

const ctx = await setup(t);

/** `target` behind a proxy that counts `begin` and `savepoint` calls, passing everything through. */
function counting<T extends Sql | TransactionSql>(target: T) {
  const nested: string[] = [];
  const proxy = new Proxy(target, {
    get: (obj, prop) => {
      const value: unknown = Reflect.get(obj, prop);
      if ((prop === 'begin' || prop === 'savepoint') && typeof value === 'function')
        return (...args: unknown[]) => {
          nested.push(prop);
          return (value as (...a: unknown[]) => unknown).apply(obj, args);
        };
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(obj) : value;
    },
  });
  return { proxy, nested };
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'granted',
    (e: { code?: string }) => e.code,
  );

t.test('on the pool, a refusal is confirmed in a transaction of its own', async (t) => {
  const budgetId = await ctx.api.createBudget('access-owner');
  const pool = counting(ctx.sql);
  t.equal(await code(requireParticipant(pool.proxy, budgetId, 'stranger')), 'NOT_PARTICIPANT');
  t.same(pool.nested, ['begin'], 'one confirming transaction');
  const granted = counting(ctx.sql);
  t.equal(await code(requireParticipant(granted.proxy, budgetId, 'access-owner')), 'granted');
  t.same(granted.nested, [], 'a grant needs no confirmation');
});

t.test('inside a transaction, its own read decides: no savepoint, same answers', async (t) => {
  const budgetId = await ctx.api.createBudget('access-owner-2');
  for (const lock of [false, true]) {
    const outcome = await ctx.sql.begin(async (tx) => {
      const inner = counting(tx);
      const refused = await code(requireParticipantIn(inner.proxy, budgetId, 'stranger', lock));
      const missing = await code(requireParticipantIn(inner.proxy, '00000000-0000-4000-8000-000000000000', 'stranger', lock));
      const owner = await requireParticipantIn(inner.proxy, budgetId, 'access-owner-2', lock);
      return { refused, missing, role: owner.role, nested: inner.nested };
    });
    t.same(outcome, { refused: 'NOT_PARTICIPANT', missing: 'BUDGET_NOT_FOUND', role: 'owner', nested: [] }, `lock: ${lock}`);
  }
});
