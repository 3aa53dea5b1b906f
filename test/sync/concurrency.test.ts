import t from 'tap';
import { type Api, ev, type PushResultJson } from '../helpers/api.js';
import { uuid } from '../helpers/server.js';
import {
  type SnapshotJson,
  applyStreamEvent,
  canonical,
  emptyState,
  expectError,
  fullStream,
  json,
  setup,
  stable,
  stateFromSnapshot,
  whileLocked,
  writeState,
} from './fixtures/support.js';

/** A small deterministic PRNG (mulberry32), so a failing run can be reproduced. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Event = Record<string, unknown> & { eventId: string; eventType: string; recordId: string };

/** Random batches of adds and edits against what `view` says the records are (possibly stale). */
function randomBatches(
  rnd: () => number,
  budgetId: string,
  view: SnapshotJson,
  count: number,
): { events: Event[]; mode: 'stopOnError' | 'independent' }[] {
  const cats = view.categories.map((c) => ({ id: c.id as string, version: c.version as number }));
  const exps = view.expenses.map((e) => ({ id: e.id as string, version: e.version as number }));
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  return Array.from({ length: count }, () => {
    const size = 1 + Math.floor(rnd() * 25);
    const events: Event[] = [];
    for (let i = 0; i < size; i++) {
      const r = rnd();
      const stale = rnd() < 0.3 ? -1 : 0; // some edits use an outdated version on purpose
      if (r < 0.2) {
        events.push(
          ev.categoryAdd(budgetId, { name: `c${i}`, allocate: `${Math.floor(rnd() * 1000)}.${Math.floor(rnd() * 100)}` }) as Event,
        );
      } else if (r < 0.5 && cats.length > 0) {
        events.push(ev.expenseAdd(budgetId, pick(cats).id, { amount: `${Math.floor(rnd() * 100)}.${Math.floor(rnd() * 10)}` }) as Event);
      } else if (r < 0.65 && cats.length > 0) {
        const c = pick(cats);
        events.push(
          ev.edit('category.edit', budgetId, c.id, Math.max(1, c.version + stale), { allocate: `${Math.floor(rnd() * 500)}` }) as Event,
        );
      } else if (r < 0.95 && exps.length > 0) {
        const e = pick(exps);
        events.push(
          ev.edit(
            'expense.edit',
            budgetId,
            e.id,
            Math.max(1, e.version + stale),
            rnd() < 0.5 ? { amount: `${Math.floor(rnd() * 50)}.25` } : { note: `n${i}` },
          ) as Event,
        );
      } else if (exps.length > 0) {
        const e = pick(exps);
        events.push(ev.del('expense.delete', budgetId, e.id, e.version) as Event);
      }
    }
    if (events.length === 0) events.push(ev.categoryAdd(budgetId) as Event);
    return { events, mode: rnd() < 0.5 ? 'stopOnError' : 'independent' };
  });
}

async function snapshot(api: Api, uid: string, budgetId: string): Promise<SnapshotJson> {
  const res = await api.req('GET', `/budgets/${budgetId}/snapshot`, uid);
  if (res.statusCode !== 200) throw new Error(`snapshot: ${res.statusCode} ${res.body}`);
  return res.json() as SnapshotJson;
}

t.test('concurrent batches from several users give gap-free sequences, consistent versions and a replayable stream', async (t) => {
  const { api, sql } = await setup(t);
  const users = ['u1', 'u2', 'u3', 'u4'];
  const budgetId = await api.createBudget('u1');
  await api.addMembers(budgetId, 'u1', 'u2', 'u3', 'u4');
  const seedCats = Array.from({ length: 4 }, () => ev.categoryAdd(budgetId));
  await api.push('u1', [
    ...seedCats,
    ...Array.from({ length: 12 }, (_, i) => ev.expenseAdd(budgetId, seedCats[i % 4]?.recordId as string)),
  ]);

  const rnd = prng(20260401);
  const sent: { uid: string; events: Event[]; results: PushResultJson[] }[] = [];
  for (const wave of [1, 2]) {
    // Each wave starts from what the users last saw, so many edits race each other.
    const view = await snapshot(api, 'u1', budgetId);
    const requests = users.flatMap((uid) => randomBatches(rnd, budgetId, view, 10).map((b) => ({ uid, ...b })));
    const answers = await Promise.all(
      requests.map(async (r) => {
        const res = await api.req('POST', '/events', r.uid, { events: r.events, mode: r.mode });
        return { ...r, res };
      }),
    );
    for (const a of answers) {
      t.equal(a.res.statusCode, 200, `wave ${wave}: every push is a 200`);
      const results = (a.res.json() as { events: PushResultJson[] }).events;
      t.equal(results.length, a.events.length);
      sent.push({ uid: a.uid, events: a.events, results });
    }
  }

  const all = sent.flatMap((s) => s.results.map((r, i) => ({ r, e: s.events[i] as Event, uid: s.uid })));
  const accepted = all.filter((x) => x.r.status === 'accepted');
  const statuses = new Set(all.map((x) => x.r.status));
  t.ok(statuses.has('accepted') && statuses.has('conflict'), `a real mix of outcomes: ${[...statuses].join(', ')}`);
  t.ok(
    all.every((x) => x.r.status !== 'rejected' || ['CATEGORY_NOT_FOUND'].includes(x.r.error?.code ?? '')),
    'rejections only for expenses whose category went away',
  );
  t.ok(
    all.every((x) => x.r.eventId === x.e.eventId),
    'results are in submission order',
  );

  const stream = await fullStream(api, 'u3', budgetId);
  const head = json<{ lastSequence: number }>(await api.req('GET', `/budgets/${budgetId}/last-event-sequence`, 'u2')).lastSequence;
  t.same(
    stream.map((e) => e.sequence),
    Array.from({ length: head }, (_, i) => i + 1),
    `sequences are exactly 1..${head}`,
  );
  const seedCount = 2 + 3 + 16;
  t.equal(head, seedCount + accepted.length, 'one stream event per accepted event, nothing else');
  const bySeq = new Map(stream.map((e) => [e.sequence, e]));
  t.equal(new Set(accepted.map((x) => x.r.sequence)).size, accepted.length, 'no two accepted events share a sequence');
  let matches = 0;
  for (const { r, uid } of accepted) {
    const s = bySeq.get(r.sequence as number);
    if (s?.eventId === r.eventId && s.actorId === uid && s.version === r.version && stable(s.record) === stable(r.record)) matches++;
  }
  t.equal(matches, accepted.length, 'each accepted result is exactly its stream event');

  // Versions: every record's changes carry versions 1, 2, 3, … in stream order.
  const versions = new Map<string, number[]>();
  for (const e of stream) {
    if (!e.eventType.startsWith('category.') && !e.eventType.startsWith('expense.')) continue;
    versions.set(e.recordId, [...(versions.get(e.recordId) ?? []), e.version as number]);
  }
  const broken = [...versions.entries()].filter(([, vs]) => vs.some((v, i) => v !== i + 1));
  t.same(broken, [], "each record's version counts its accepted changes");
  for (const x of all.filter((y) => y.r.status === 'conflict' && y.r.error?.code === 'VERSION_CONFLICT')) {
    if ((x.r.record as { version: number }).version === x.e.version) t.fail(`a conflict whose version matched: ${JSON.stringify(x)}`);
  }

  // The final state is the stream replayed from empty.
  const final = await snapshot(api, 'u4', budgetId);
  t.equal(final.lastSequence, head);
  const replayed = emptyState();
  for (const e of stream) applyStreamEvent(replayed, e);
  t.same(canonical(replayed), canonical(stateFromSnapshot(final)), 'snapshot = replay of the whole stream');
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE budget_id = ${budgetId}`;
  t.equal(row?.n, head, 'the log holds exactly the streamed events');
});

t.test('the same eventId raced by 8 requests is accepted once; the others are duplicates with its sequence', async (t) => {
  const { api, sql } = await setup(t);
  const budgetId = await api.createBudget('racer');
  const other = await api.createBudget('racer');
  const cat = ev.categoryAdd(budgetId);
  await api.push('racer', [cat]);

  for (const event of [
    ev.categoryAdd(budgetId),
    ev.expenseAdd(budgetId, cat.recordId),
    ev.edit('category.edit', budgetId, cat.recordId, 1, { name: 'raced' }),
  ]) {
    const results = await Promise.all(Array.from({ length: 8 }, () => api.push('racer', [event])));
    const flat = results.map((r) => r[0] as PushResultJson);
    t.equal(flat.filter((r) => r.status === 'accepted').length, 1, `${event.eventType}: exactly one accepted`);
    t.equal(flat.filter((r) => r.status === 'duplicate').length, 7, `${event.eventType}: seven duplicates`);
    const winner = flat.find((r) => r.status === 'accepted') as PushResultJson;
    t.ok(
      flat.every((r) => r.sequence === winner.sequence && stable(r.record) === stable(winner.record)),
      'all with the same sequence and record',
    );
  }
  const [n] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE budget_id = ${budgetId}`;
  t.equal(n?.n, 6, 'three raced events, each logged once');

  // The same eventId raced into two budgets with different content: one wins, nothing else is written, no 500.
  const eventId = uuid();
  const before = await writeState(sql);
  const responses = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      api.req('POST', '/events', 'racer', { events: [{ ...ev.categoryAdd(i % 2 ? other : budgetId), eventId }] }),
    ),
  );
  t.ok(
    responses.every((r) => r.statusCode === 200),
    'every racer gets a 200',
  );
  const codes = responses.map((r) => (r.json() as { events: PushResultJson[] }).events[0] as PushResultJson);
  t.equal(codes.filter((r) => r.status === 'accepted').length, 1, 'one accepted');
  t.ok(
    codes.every((r) => r.status === 'accepted' || r.error?.code === 'EVENT_ID_REUSED'),
    'the rest EVENT_ID_REUSED (different record ids)',
  );
  const after = await writeState(sql);
  t.equal(after.events, before.events + 1, 'exactly one event logged');
});

t.test('concurrent joins never pass the participant limit', async (t) => {
  const { api, sql } = await setup(t, { PARTICIPANT_LIMIT: '5' });
  const budgetId = await api.createBudget('boss');
  const token = json<{ token: string }>(await api.req('POST', `/budgets/${budgetId}/invites`, 'boss', {})).token;
  const joiners = Array.from({ length: 12 }, (_, i) => `joiner${i}`);
  const answers = await Promise.all(
    joiners.map((uid, i) =>
      i % 2 ? api.req('POST', `/invites/${token}/accept`, uid) : api.req('GET', `/budgets/${budgetId}/join?token=${token}`, uid),
    ),
  );
  const ok = answers.filter((r) => r.statusCode === 200);
  t.equal(ok.length, 4, 'four join (the owner counts as the fifth)');
  for (const r of answers.filter((x) => x.statusCode !== 200)) expectError(t, r, 403, 'PARTICIPANT_LIMIT_REACHED');
  const participants = json<{ participants: unknown[] }>(await api.req('GET', `/budgets/${budgetId}/participants`, 'boss')).participants;
  t.equal(participants.length, 5);
  const stream = await fullStream(api, 'boss', budgetId);
  t.same(
    stream.map((e) => e.sequence),
    [1, 2, 3, 4, 5, 6],
  );
  t.equal(stream.filter((e) => e.eventType === 'participant.add').length, 5);
  const [inv] = await sql<{ uses: number }[]>`SELECT uses FROM invites WHERE budget_id = ${budgetId}`;
  t.equal(inv?.uses, 4, 'the invite counts only the joins that happened');

  // A member joining again while the budget is full is still the same no-op answer.
  const again = await Promise.all(
    Array.from({ length: 6 }, () =>
      api.req(
        'POST',
        `/invites/${token}/accept`,
        ok.length ? (ok[0]!.json() as { participant: { userId: string } }).participant.userId : 'x',
      ),
    ),
  );
  t.ok(
    again.every((r) => r.statusCode === 200 && r.body === again[0]?.body),
    'concurrent re-joins by a member all answer the same 200',
  );
  t.equal((await fullStream(api, 'boss', budgetId)).length, 6, 're-joining writes nothing');
});

t.test('concurrent POST /budget with one eventId creates the budget once', async (t) => {
  const { api, sql } = await setup(t);
  const body = { eventId: uuid(), id: uuid(), title: 'Raced', details: 'x', when: 1 };
  const answers = await Promise.all(Array.from({ length: 8 }, () => api.req('POST', '/budget', 'maker', body)));
  t.same(answers.map((r) => r.statusCode).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
  const created = answers.find((r) => r.statusCode === 201);
  t.ok(
    answers.every((r) => stable(r.json()) === stable(created?.json())),
    'every answer has the same body',
  );
  const [n] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE budget_id = ${body.id}`;
  t.equal(n?.n, 2, 'budget.create and participant.add once');

  // Different eventIds racing for one budget id: one 201, the rest 409 BUDGET_EXISTS.
  const id = uuid();
  const racing = await Promise.all(
    Array.from({ length: 6 }, () => api.req('POST', '/budget', 'maker', { eventId: uuid(), id, title: 'B', when: 1 })),
  );
  t.equal(racing.filter((r) => r.statusCode === 201).length, 1);
  for (const r of racing.filter((x) => x.statusCode !== 201)) expectError(t, r, 409, 'BUDGET_EXISTS');

  // One eventId racing for different budget ids: one 201, the rest 409 EVENT_ID_REUSED, never a 500.
  const eventId = uuid();
  const before = await writeState(sql);
  const reused = await Promise.all(
    Array.from({ length: 6 }, () => api.req('POST', '/budget', 'maker', { eventId, id: uuid(), title: 'C', when: 1 })),
  );
  t.equal(reused.filter((r) => r.statusCode === 201).length, 1);
  for (const r of reused.filter((x) => x.statusCode !== 201)) expectError(t, r, 409, 'EVENT_ID_REUSED');
  const after = await writeState(sql);
  t.equal(after.budgets, before.budgets + 1, 'one budget created');
});

// Two shapes: one run of adds is one statement (its insert fails whole, and the batch is answered
// by the transaction path); with a second run the batch is a transaction from the start (its
// insert fails mid-transaction, and the batch is run again with a savepoint per event).
for (const shape of ['one statement', 'a transaction'] as const) {
  t.test(
    `an eventId committed by another transaction mid-batch is answered from its receipt, and the rest of the batch still applies (${shape})`,
    async (t) => {
      const { api, sql } = await setup(t);
      const a = await api.createBudget('racer');
      const b = await api.createBudget('racer');
      const eventId = uuid();
      // Another writer holds eventId in budget b, uncommitted: our batch's insert of it must wait, then fail.
      const first = ev.categoryAdd(a);
      const last = shape === 'one statement' ? ev.categoryAdd(a) : ev.expenseAdd(a, first.recordId);
      const results = await whileLocked(
        sql,
        b,
        async (tx) => {
          const [head] = await tx<{ s: number }[]>`SELECT last_sequence AS s FROM budgets WHERE id = ${b}`;
          await tx`INSERT INTO events (budget_id, sequence, event_id, event_type, record_id, actor_id, client_when, server_time, version, record, fingerprint)
             VALUES (${b}, ${(head?.s ?? 0) + 1}, ${eventId}, 'category.add', ${uuid()}, 'racer', 0, 0, 1, NULL, 'other')`;
          await tx`UPDATE budgets SET last_sequence = last_sequence + 1 WHERE id = ${b}`;
        },
        () => api.push('racer', [first, { ...ev.categoryAdd(a), eventId }, last], 'independent'),
      );
      t.same(
        results.map((r) => r.status),
        ['accepted', 'rejected', 'accepted'],
        'the raced event is refused; the others apply',
      );
      t.equal(results[1]?.error?.code, 'EVENT_ID_REUSED');
      const stream = await api.stream('racer', a);
      t.same(
        stream.events.map((e) => e.sequence),
        [1, 2, 3, 4],
        'budget a stays gap-free',
      );
      const metrics = await api.req('GET', '/metrics', 'racer');
      t.match(
        metrics.body,
        shape === 'one statement' ? /^push_batches_total\{path="direct-missed"\} 1$/m : /^push_batches_total\{path="careful"\} 1$/m,
      );
    },
  );
}

t.test('a removal committed while a batch waits for the budget lock is seen: the batch is refused', async (t) => {
  const { api, sql } = await setup(t);
  const budgetId = await api.createBudget('owner');
  await api.addMembers(budgetId, 'owner', 'leaver');
  // Another transaction holds the budget row lock and removes `leaver`, uncommitted — and, as every
  // writer of a budget's data does (the removal appends participant.remove), moves the head.
  const [result] = await whileLocked(
    sql,
    budgetId,
    async (tx) => {
      await tx`DELETE FROM participants WHERE budget_id = ${budgetId} AND user_id = 'leaver'`;
      await tx`UPDATE budgets SET last_sequence = last_sequence + 1 WHERE id = ${budgetId}`;
    },
    () => api.push('leaver', [ev.categoryAdd(budgetId)]),
  );
  t.equal(result?.status, 'rejected', 'the batch read membership after the lock, not before');
  t.equal(result?.error?.code, 'NOT_PARTICIPANT');
  const [head] = await sql<{ s: number }[]>`SELECT last_sequence AS s FROM budgets WHERE id = ${budgetId}`;
  t.equal(head?.s, 4, 'nothing appended by the batch (create, join, the removal)');
});
