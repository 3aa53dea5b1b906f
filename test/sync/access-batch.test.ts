/**
 * AccessBatcher (src/sync/access-batch.ts): the socket subscribes' access checks of one event-loop
 * turn are answered by one query, each answer is exactly requireParticipant's, a failed query reaches
 * every caller, and more pairs than the per-query cap are split.
 *
 * Queries are counted by recording every call the batcher makes into its pool (a proxy over a real
 * `Sql`): each tagged-template query with its text and parameters, and each `begin`.
 */
import t, { type Test } from 'tap';
import { toAppError } from '../../src/sync/to-app-error.js';
import { type Sql, createSql } from '../../src/db/sql.js';
import { AccessBatcher, MAX_PAIRS_PER_QUERY } from '../../src/sync/access-batch.js';
import { type Access, requireParticipant } from '../../src/sync/access.js';
import { ev } from '../helpers/api.js';
import { uuid } from '../helpers/server.js';
import { setup } from './fixtures/support.js';

const ctx = await setup(t);
const { api } = ctx;

interface Call {
  text: string;
  params: unknown[];
}

/** `target` behind a proxy that records each query and transaction; `use` swaps the pool behind it. */
function recorded(initial: Sql) {
  const calls: Call[] = [];
  let target = initial;
  const sql = new Proxy((() => {}) as unknown as Sql, {
    apply: (_f, _this, args: unknown[]) => {
      const [strings, ...params] = args as [readonly string[], ...unknown[]];
      calls.push({ text: strings.join('$'), params });
      return Reflect.apply(target as unknown as (...a: unknown[]) => unknown, undefined, args);
    },
    get: (_f, prop) => {
      if (prop === 'begin') {
        return (...args: unknown[]) => {
          calls.push({ text: 'BEGIN', params: [] });
          return (target.begin as (...a: unknown[]) => unknown)(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
    has: (_f, prop) => prop in target,
  });
  return {
    sql,
    calls,
    use: (next: Sql) => {
      target = next;
    },
    /** The batch queries, with how many pairs each carried (elements of its uuid[] parameter). */
    batches: () => calls.filter((c) => c.text.includes('unnest')).map((c) => String(c.params[0]).split(',').length),
  };
}

type Outcome = { access: Access } | { code: string; statusCode: number; message: string };
const outcome = (answer: Promise<Access>): Promise<Outcome> =>
  answer.then(
    (access) => ({ access }),
    (err: unknown) => {
      const e = toAppError(err);
      return { code: e.code, statusCode: e.statusCode, message: e.message };
    },
  );

// Budget A: owner, member, a removed member; budget B: deleted; budget C: owned by someone else;
// a budget id that never existed. User ids are case-sensitive ('ab-member' is in A, 'AB-MEMBER' is
// not); budget ids are uuids, case-insensitive, and come both ways.
const U = { owner: 'ab-owner', member: 'ab-member', upper: 'AB-MEMBER', removed: 'ab-removed', outsider: 'ab-outsider' };
const A = await api.createBudget(U.owner);
await api.addMembers(A, U.owner, U.member, U.removed);
const rm = await api.req('DELETE', `/budgets/${A}/participants/${U.removed}`, U.owner);
if (rm.statusCode !== 200) throw new Error(`remove: ${rm.body}`);
const B = await api.createBudget(U.owner);
await api.addMembers(B, U.owner, U.member);
const [del] = await api.push(U.owner, [ev.del('budget.delete', B, B, 1)]);
if (del?.status !== 'accepted') throw new Error(`delete: ${JSON.stringify(del)}`);
const C = await api.createBudget(U.outsider);
const MISSING = uuid();

const budgetForms = [A, B, C, MISSING].flatMap((id) => [id, id.toUpperCase()]);
const combos = budgetForms.flatMap((b) => Object.values(U).map((u) => [b, u] as const));
/** What the single-pair path answers for each combination (on the server's own pool). */
const expected = new Map<string, Outcome>();
for (const [b, u] of combos) expected.set(`${b} ${u}`, await outcome(requireParticipant(ctx.sql, b, u)));

/** A pool of its own for one test, ended at its teardown. */
const fresh = (t: Test): Sql => {
  const pool = createSql(ctx.server.url, { max: 4 });
  t.teardown(() => pool.end({ timeout: 1 }));
  return pool;
};

t.test('300 mixed checks of one turn: one batch query, each answer exactly what requireParticipant gives', async (t) => {
  t.equal(combos.length, 40, '4 budgets × 2 id forms × 5 users');
  const codes = new Set([...expected.values()].map((o) => ('access' in o ? `granted:${o.access.role}` : o.code)));
  t.same([...codes].sort(), ['BUDGET_NOT_FOUND', 'NOT_PARTICIPANT', 'granted:member', 'granted:owner'], 'the mix covers every answer');

  const rec = recorded(fresh(t));
  const batcher = new AccessBatcher(rec.sql);
  const asked = Array.from({ length: 300 }, (_, i) => combos[i % combos.length] as readonly [string, string]);
  const answers = await Promise.all(asked.map(([b, u]) => outcome(batcher.check(b, u))));
  t.same(
    answers,
    asked.map(([b, u]) => expected.get(`${b} ${u}`)),
    'every answer equals the single-pair answer',
  );

  // Upper- and lower-case forms of one budget are one pair: 4 budgets × 5 users = 20 rows.
  t.same(rec.batches(), [20], 'one batch query for all 300 checks, one row per distinct pair');
  // Every other call confirms a refusal: the batch row was the first read, the confirmation is a transaction.
  const refusedPairs = new Set(
    combos.filter(([b, u]) => !('access' in (expected.get(`${b} ${u}`) as Outcome))).map(([b, u]) => `${b.toLowerCase()} ${u}`),
  );
  t.equal(refusedPairs.size, 17);
  const others = rec.calls.filter((c) => !c.text.includes('unnest'));
  t.equal(others.filter((c) => c.text === 'BEGIN').length, refusedPairs.size, 'one confirming transaction per distinct refused pair');
  t.equal(others.filter((c) => c.text !== 'BEGIN').length, 0, 'no single read again: the batch row is the first read');
});

t.test('granted checks need no other query; each event-loop turn is its own batch', async (t) => {
  const rec = recorded(fresh(t));
  const batcher = new AccessBatcher(rec.sql);
  const granted = combos.filter(([b, u]) => 'access' in (expected.get(`${b} ${u}`) as Outcome));
  t.equal(granted.length, 6, 'A as owner and member, C as its owner, each id in both cases');
  const asked = Array.from({ length: 300 }, (_, i) => granted[i % granted.length] as readonly [string, string]);
  const answers = await Promise.all(asked.map(([b, u]) => outcome(batcher.check(b, u))));
  t.same(
    answers,
    asked.map(([b, u]) => expected.get(`${b} ${u}`)),
  );
  t.equal(rec.calls.length, 1, '300 granted checks: exactly one query');
  t.same(rec.batches(), [3]);

  await batcher.check(A, U.owner);
  await batcher.check(A, U.member);
  t.same(rec.batches(), [3, 1, 1], 'checks awaited one after the other are answered one query each');
});

t.test('more distinct pairs than the per-query cap are split into queries of at most the cap', async (t) => {
  const D = await api.createBudget('cap-owner');
  await ctx.sql`
    INSERT INTO participants (budget_id, user_id, role, joined_at)
    SELECT ${D}, 'cap-' || g, 'member', 0 FROM generate_series(1, ${2 * MAX_PAIRS_PER_QUERY}) g`;
  const users = ['cap-owner', ...Array.from({ length: 2 * MAX_PAIRS_PER_QUERY }, (_, i) => `cap-${i + 1}`)];
  const rec = recorded(fresh(t));
  const batcher = new AccessBatcher(rec.sql);
  const answers = await Promise.all(users.map((u) => batcher.check(D, u)));
  t.ok(
    answers.every((a, i) => a.budget.id === D && a.role === (i === 0 ? 'owner' : 'member')),
    'every pair granted with its role',
  );
  t.same(rec.batches(), [MAX_PAIRS_PER_QUERY, MAX_PAIRS_PER_QUERY, 1], `${users.length} pairs: three queries`);
  t.equal(rec.calls.length, 3, 'and nothing else');
});

t.test('a malformed budget id fails alone, as the single query does; the rest of its turn is answered', async (t) => {
  const rec = recorded(fresh(t));
  const batcher = new AccessBatcher(rec.sql);
  const single = await outcome(requireParticipant(ctx.sql, 'not-a-uuid', U.owner));
  t.match(single, { code: 'INTERNAL' });
  const [bad, good] = await Promise.all([outcome(batcher.check('not-a-uuid', U.owner)), outcome(batcher.check(A, U.owner))]);
  t.same(bad, single);
  t.same(good, expected.get(`${A} ${U.owner}`));
  t.same(rec.batches(), [1], 'the good pair still went in a batch');
});

t.test("a failed batch query rejects every caller with the single query's error; the next batch works", async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  const closed = createSql(ctx.server.url, { max: 1 });
  await closed.end();
  const singleErr = await requireParticipant(closed, A, U.owner).then(
    () => undefined,
    (err: unknown) => err,
  );
  t.ok(singleErr, 'the single query fails on an ended pool');
  const singleCode = (singleErr as { code?: unknown }).code;

  const rec = recorded(closed);
  const batcher = new AccessBatcher(rec.sql);
  const asked = combos.slice(0, 30);
  const errors = await Promise.all(
    asked.map(([b, u]) =>
      batcher.check(b, u).then(
        () => undefined,
        (err: unknown) => err,
      ),
    ),
  );
  t.ok(
    errors.every((e) => e !== undefined),
    'every caller rejected',
  );
  t.ok(
    errors.every((e) => e === errors[0]),
    'all with the one error of the batch query',
  );
  t.equal((errors[0] as { code?: unknown }).code, singleCode, `the same error as the single query (${String(singleCode)})`);
  t.equal(toAppError(errors[0]).code, toAppError(singleErr).code, 'which a socket answers the same way');
  t.same(rec.batches(), [30 / 2], 'one batch query was tried (upper and lower case share a pair)');
  t.equal(rec.calls.length, 1, 'a failed read is not "refused": no confirmation was attempted');

  rec.use(fresh(t));
  const answers = await Promise.all(asked.map(([b, u]) => outcome(batcher.check(b, u))));
  t.same(
    answers,
    asked.map(([b, u]) => expected.get(`${b} ${u}`)),
    'the next batch, on a working pool, answers correctly',
  );
  await new Promise((resolve) => setImmediate(resolve));
  t.same(unhandled, [], 'no unhandled rejection');
});

t.test('a refusal the confirmation disagrees with is granted and reported (BUDGET_SYNC_ACCESS_RECHECK)', async (t) => {
  const pool = fresh(t);
  const budgetId = await api.createBudget('recheck-owner');
  // The batch reads 'late-joiner' as no participant; the row appears before the confirming read.
  const racing = new Proxy(pool, {
    get: (target, prop) =>
      prop === 'begin'
        ? async (...args: unknown[]) => {
            await target`INSERT INTO participants (budget_id, user_id, role, joined_at) VALUES (${budgetId}, 'late-joiner', 'member', 0)`;
            return (target.begin as (...a: unknown[]) => unknown)(...args);
          }
        : (Reflect.get(target, prop) as unknown),
  });
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const access = await new AccessBatcher(racing).check(budgetId, 'late-joiner');
  t.equal(access.role, 'member', 'the confirmed answer is given');
  await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  t.ok(
    warnings.some((w) => (w as Error & { code?: string }).code === 'BUDGET_SYNC_ACCESS_RECHECK'),
    'the disagreement is reported',
  );
});
