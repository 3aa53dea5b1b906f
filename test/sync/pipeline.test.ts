/**
 * A batch of record events is written in one round trip (src/sync/apply-event.ts `pipelineChanges`):
 * every statement is sent with the sequence it gets if all before it are accepted. These pin that
 * the pipeline writes exactly what one event at a time would, that a statement matching nothing
 * rolls the whole attempt back and the batch is run one by one (no gap, nothing after a stop, the
 * reason of the refusal), and which batches are not pipelined at all.
 */
import t from 'tap';
import { readStream } from '../../src/sync/reads.js';
import { ev } from '../helpers/api.js';
import { head, observed, setup, writeState } from './fixtures/support.js';

t.test('a batch of record events on two budgets is pipelined and writes what one-by-one would', async (t) => {
  const ctx = await setup(t);
  const [a, b] = [await ctx.api.createBudget('owner'), await ctx.api.createBudget('owner')];
  const [ha, hb] = [await head(ctx, a), await head(ctx, b)];
  const p = observed(ctx);
  const catA = ev.categoryAdd(a);
  const catB = ev.categoryAdd(b.toUpperCase());
  const expA = ev.expenseAdd(a, catA.recordId, { amount: '2.5' }); // its category is added by the statement before
  const expA2 = ev.expenseAdd(a, catA.recordId);
  const results = await p.push(
    [
      catA,
      catB,
      expA,
      ev.expenseAdd(b, catB.recordId.toUpperCase()),
      ev.edit('expense.edit', a, expA.recordId, 1, { amount: '3', note: 'n' }), // edits a row written in this batch
      expA2,
      ev.edit('category.edit', b, catB.recordId, 1, { name: 'B2' }),
      ev.del('category.delete', a, catA.recordId, 1), // cascades to expA and expA2
    ],
    'owner',
  );
  t.same(p.paths, ['pipelined']);
  t.same(
    results.map((r) => r.status),
    Array(8).fill('accepted'),
  );
  t.same(
    results.map((r) => r.sequence),
    [ha + 1, hb + 1, ha + 2, hb + 2, ha + 3, ha + 4, hb + 3, ha + 5],
    "each budget's sequences follow its head, gap-free",
  );
  t.same(results[4]?.version, 2, 'the edit saw the row its batch had just written');
  t.same([await head(ctx, a), await head(ctx, b)], [ha + 5, hb + 3], "each budget's head is its last sequence");

  const logA = await readStream(ctx.sql, a, ha, 100);
  const logB = await readStream(ctx.sql, b, hb, 100);
  t.equal(
    JSON.stringify(p.handed.filter((e) => e.budgetId === a)),
    JSON.stringify(logA),
    'the events handed over are the log, byte for byte (budget a)',
  );
  t.equal(JSON.stringify(p.handed.filter((e) => e.budgetId === b)), JSON.stringify(logB), 'and budget b');
  t.same(logA.at(-1)?.cascade?.expenseIds, [expA.recordId, expA2.recordId].sort(), 'the cascade names both expenses');
  const [row] = await ctx.sql<
    { deleted: boolean; version: number; amount: string }[]
  >`SELECT deleted, version, amount::text FROM expenses WHERE id = ${expA.recordId}`;
  t.same(row, { deleted: true, version: 3, amount: '3.00' });
});

t.test('a statement that matches nothing rolls the pipeline back and the batch runs one by one', async (t) => {
  const ctx = await setup(t);
  const budgetId = await ctx.api.createBudget('owner');
  const p = observed(ctx);
  const missing = ev.expenseAdd(budgetId, '00000000-0000-4000-8000-000000000000'); // no such category
  const batch = () => [
    ev.categoryAdd(budgetId),
    { ...missing, eventId: ev.categoryAdd(budgetId).eventId, recordId: ev.categoryAdd(budgetId).recordId },
    ev.categoryAdd(budgetId),
  ];

  const h = await head(ctx, budgetId);
  const before = await writeState(ctx.sql);
  const stop = await p.push(batch(), 'owner');
  t.same(p.paths, ['retried']);
  t.same(
    stop.map((r) => [r.status, r.error?.code, r.sequence]),
    [
      ['accepted', undefined, h + 1],
      ['rejected', 'CATEGORY_NOT_FOUND', undefined],
      ['skipped', undefined, undefined],
    ],
  );
  const after = await writeState(ctx.sql);
  t.same(
    [after.events - before.events, after.categories - before.categories, after.expenses - before.expenses],
    [1, 1, 0],
    'only the event before the stop was written, once',
  );
  t.equal(await head(ctx, budgetId), h + 1);

  const indep = await p.push(batch(), 'owner', 'independent');
  t.same(p.paths, ['retried', 'retried']);
  t.same(
    indep.map((r) => [r.status, r.sequence]),
    [
      ['accepted', h + 2],
      ['rejected', undefined],
      ['accepted', h + 3],
    ],
  );
  t.same(
    (await readStream(ctx.sql, budgetId, 0, 100)).map((e) => e.sequence),
    Array.from({ length: h + 3 }, (_, i) => i + 1),
    'the log is gap-free',
  );
  t.equal(
    JSON.stringify(p.handed),
    JSON.stringify(await readStream(ctx.sql, budgetId, h, 100)),
    'the events handed over are those of the committed attempt only',
  );
});

t.test('one event is one statement; when it matches nothing it wrote nothing and is explained', async (t) => {
  const ctx = await setup(t);
  const budgetId = await ctx.api.createBudget('owner');
  const p = observed(ctx);
  const h = await head(ctx, budgetId);
  const cat = ev.categoryAdd(budgetId);
  const [ok] = await p.push([cat], 'owner');
  t.same([ok?.status, ok?.sequence], ['accepted', h + 1]);
  t.equal(await head(ctx, budgetId), h + 1, 'its statement wrote the head');

  const before = await writeState(ctx.sql);
  const [stale] = await p.push([ev.edit('category.edit', budgetId, cat.recordId, 5, { name: 'stale' })], 'owner');
  const [orphan] = await p.push([ev.expenseAdd(budgetId, '00000000-0000-4000-8000-000000000000')], 'owner');
  t.same(p.paths, ['direct', 'direct-missed', 'sequential', 'direct-missed', 'sequential']);
  t.match(stale, { status: 'conflict', error: { code: 'VERSION_CONFLICT' }, record: { id: cat.recordId, version: 1 } });
  t.match(orphan, { status: 'rejected', error: { code: 'CATEGORY_NOT_FOUND' } });
  t.same(await writeState(ctx.sql), before, 'the refused events wrote nothing');
  t.equal(await head(ctx, budgetId), h + 1);
  t.equal(JSON.stringify(p.handed), JSON.stringify(await readStream(ctx.sql, budgetId, h, 100)), 'only the accepted event was handed over');
});

t.test('consecutive adds of one type are one statement that writes what one-by-one would', async (t) => {
  const ctx = await setup(t);
  const budgetId = await ctx.api.createBudget('owner');
  const cat = ev.categoryAdd(budgetId);
  await ctx.api.push('owner', [cat]);
  const h = await head(ctx, budgetId);
  const p = observed(ctx);
  const adds = Array.from({ length: 5 }, (_, i) =>
    ev.expenseAdd(budgetId, cat.recordId, { amount: `${i + 1}`, note: i === 2 ? null : `n${i}` }),
  );
  const results = await p.push([ev.categoryAdd(budgetId), ev.categoryAdd(budgetId), ...adds], 'owner');
  t.same(p.paths, ['pipelined']);
  t.same(
    results.map((r) => [r.status, r.sequence]),
    Array.from({ length: 7 }, (_, i) => ['accepted', h + 1 + i]),
  );
  t.same(results[4]?.record, { ...results[4]?.record, amount: '3.00', note: null }, 'each result carries its own record');
  t.equal(await head(ctx, budgetId), h + 7, "the run's last event wrote the head");
  t.equal(JSON.stringify(p.handed), JSON.stringify(await readStream(ctx.sql, budgetId, h, 100)), 'the log, byte for byte');

  // A repeated record id splits the run; the second add is refused one by one.
  const dup = ev.expenseAdd(budgetId, cat.recordId);
  const again = await p.push(
    [dup, { ...ev.expenseAdd(budgetId, cat.recordId), recordId: dup.recordId }, ev.expenseAdd(budgetId, cat.recordId)],
    'owner',
    'independent',
  );
  t.same(
    again.map((r) => [r.status, r.error?.code]),
    [
      ['accepted', undefined],
      ['rejected', 'RECORD_EXISTS'],
      ['accepted', undefined],
    ],
  );
  // One add of a run matches nothing (no such category): nothing of the run is written. Alone in
  // its batch the run is one statement, whose checks see the missing category before any write.
  const before = await writeState(ctx.sql);
  const orphan = await p.push(
    [
      ev.expenseAdd(budgetId, cat.recordId),
      ev.expenseAdd(budgetId, '00000000-0000-4000-8000-000000000000'),
      ev.expenseAdd(budgetId, cat.recordId),
    ],
    'owner',
  );
  t.same(p.paths, ['pipelined', 'retried', 'direct-missed', 'sequential']);
  t.same(
    orphan.map((r) => [r.status, r.error?.code]),
    [
      ['accepted', undefined],
      ['rejected', 'CATEGORY_NOT_FOUND'],
      ['skipped', undefined],
    ],
  );
  const after = await writeState(ctx.sql);
  t.same(
    [after.events - before.events, after.expenses - before.expenses, after.heads - before.heads],
    [1, 1, 1],
    'only the first add, once',
  );
  t.same(
    (await readStream(ctx.sql, budgetId, 0, 100)).map((e) => e.sequence),
    Array.from({ length: h + 10 }, (_, i) => i + 1),
    'the log is gap-free',
  );
});

t.test('a conflict in a pipeline is answered with the current record, as one by one', async (t) => {
  const ctx = await setup(t);
  const budgetId = await ctx.api.createBudget('owner');
  const cat = ev.categoryAdd(budgetId);
  await ctx.api.push('owner', [cat]);
  const p = observed(ctx);
  const results = await p.push([ev.categoryAdd(budgetId), ev.edit('category.edit', budgetId, cat.recordId, 7, { name: 'stale' })], 'owner');
  t.same(p.paths, ['retried']);
  t.same(
    results.map((r) => r.status),
    ['accepted', 'conflict'],
  );
  t.match(results[1], { error: { code: 'VERSION_CONFLICT' }, record: { id: cat.recordId, version: 1 } });
});

t.test('batches that are not pipelined', async (t) => {
  const ctx = await setup(t);
  const budgetId = await ctx.api.createBudget('owner');
  const other = await ctx.api.createBudget('someone');
  const p = observed(ctx);
  const cat = ev.categoryAdd(budgetId);
  await ctx.api.push('owner', [cat]);
  await p.push([ev.categoryAdd(budgetId), ev.edit('budget.edit', budgetId, budgetId, 1, { title: 'x' })], 'owner');
  const retry = await p.push([cat, ev.categoryAdd(budgetId)], 'owner');
  const foreign = await p.push([ev.categoryAdd(budgetId), ev.categoryAdd(other)], 'owner', 'independent');
  const twice = ev.categoryAdd(budgetId);
  const same = await p.push([twice, twice], 'owner');
  t.same(
    p.paths,
    ['sequential', 'direct-missed', 'sequential', 'sequential', 'sequential'],
    'a budget.* event; a retried eventId (its one statement wrote nothing); a refusal known before any statement; one eventId twice',
  );
  t.same(
    retry.map((r) => r.status),
    ['duplicate', 'accepted'],
  );
  t.same(
    foreign.map((r) => [r.status, r.error?.code]),
    [
      ['accepted', undefined],
      ['rejected', 'NOT_PARTICIPANT'],
    ],
  );
  t.same(
    same.map((r) => r.status),
    ['accepted', 'duplicate'],
  );
});

t.test('the server counts its batches by path', async (t) => {
  const ctx = await setup(t);
  const budgetId = await ctx.api.createBudget('owner');
  const cat = ev.categoryAdd(budgetId);
  await ctx.api.push('owner', [cat, ev.categoryAdd(budgetId)]);
  await ctx.api.push('owner', [ev.categoryAdd(budgetId), ev.expenseAdd(budgetId, cat.recordId)]);
  await ctx.api.push('owner', [cat]);
  const metrics = await ctx.server.app.inject({ method: 'GET', url: '/metrics' });
  t.match(metrics.body, /^push_batches_total\{path="direct"\} 1$/m, 'one run of adds: one statement');
  t.match(metrics.body, /^push_batches_total\{path="pipelined"\} 1$/m, 'two runs: pipelined in a transaction');
  t.match(metrics.body, /^push_batches_total\{path="direct-missed"\} 1$/m, 'a retry: the statement wrote nothing');
  t.match(metrics.body, /^push_batches_total\{path="sequential"\} 1$/m, '… and the retry was answered one by one');
  t.match(metrics.body, /^push_events_total\{status="accepted"\} 4$/m, 'events by status');
  t.match(metrics.body, /^push_events_total\{status="duplicate"\} 1$/m);
  t.match(metrics.body, /^http_requests_total\{method="POST",route="\/events",status="200"\} 3$/m, 'requests by route and status');
  t.match(metrics.body, /^http_request_duration_seconds_count\{method="POST",route="\/events"\} 3$/m);
});
