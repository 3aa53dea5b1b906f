/**
 * Fuzz: hostile HTTP bodies. Valid bodies of POST /events (every event type), POST /budget,
 * PUT /user, POST /budgets/:id/invites and PUT /budgets/:id/owner are mutated at random (wrong types,
 * missing and extra fields, huge strings and numbers, unicode edge cases, 10k-level nesting,
 * duplicated and prototype keys, truncated JSON, invalid UTF-8, wrong content types, batches of
 * 0/26/1000 events, money, date and id edge cases, other budgets' ids), plus fixed cases over a real
 * port (invalid UTF-8 bytes, 10 MB bodies). Every answer must be < 500, an error must be the
 * protocol's envelope with a known code, every push result must have a known status, and an answer
 * that accepted nothing must have written nothing (a digest of every table is compared).
 *
 * Reproducible: `FUZZ_SEED=<n> FUZZ_ITERATIONS=<n> npm test -- test/fuzz/http.test.ts`.
 * Each failure names the seed, the iteration, the mutations and the body it sent.
 */
import t, { type Test } from 'tap';
import { mintDevToken } from '../../src/auth/dev-verifier.js';
import { auth, startTestServer, TEST_SECRET, token } from '../helpers/server.js';
import { CONTENT_TYPES, Draft, TEXT_MUTATORS, TEXT_WEIGHTS, excerpt, mutate } from './fixtures/mutate.js';
import { rawHttp } from './fixtures/raw-http.js';
import { Rng, fuzzIterations, fuzzSeed } from './fixtures/rng.js';
import { MEMBER, OWNER, type DbState, World, batchSize, dbState, httpProblems, pushProblems, tableCounts } from './fixtures/world.js';

const seed = fuzzSeed();
const iterations = fuzzIterations(300);
const started = Date.now();
t.comment(`FUZZ_SEED=${seed} FUZZ_ITERATIONS=${iterations} (reproduce: FUZZ_SEED=${seed} npm test -- test/fuzz/http.test.ts)`);

// The per-user rate limit would turn most of the run into 429s; it has its own test (test/http/bad-input.test.ts).
const server = await startTestServer(t, { RATE_LIMIT_MAX: '1000000' });
await server.app.listen({ port: 0, host: '127.0.0.1' });
const { port } = server.app.server.address() as { port: number };
const sql = server.services.sql;
const rng = new Rng(seed);
const world = await World.build(server.app, sql, rng.fork(-1));

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
interface Case {
  label: string;
  method: Method;
  url: string;
  /** A uid (its token is minted) or a ready Authorization header value. */
  uid?: string;
  authorization?: string;
  body?: string | Buffer;
  /** null: no Content-Type header. */
  contentType?: string | null;
  via?: 'inject' | 'http';
  chunked?: boolean;
  /** The status this case must get, when it is certain. */
  expect?: number;
  /** The request may legitimately write even when it fails (a first request creates the user's row). */
  mayWriteAnyway?: boolean;
}

const failures: string[] = [];
/** The subtest running now: failures are reported on it. */
let current: Test = t;
const statuses = new Map<number, number>();
let accepted = 0;
let compared = 0;
let state: DbState = await dbState(sql);

function fail(c: Case, problem: string): void {
  const msg =
    `seed=${seed} ${c.label}: ${problem}\n` +
    `  reproducer: ${c.method} ${c.url} as ${c.uid ?? 'custom token'} via ${c.via ?? 'inject'}, content-type ${JSON.stringify(c.contentType ?? null)}, body ${c.body === undefined ? '(none)' : excerpt(c.body)}`;
  failures.push(msg);
  current.fail(msg);
}

/** Sends one case and checks the answer and the database. */
async function exercise(c: Case): Promise<string> {
  const headers: Record<string, string> = {};
  if (c.authorization !== undefined) headers.authorization = c.authorization;
  else if (c.uid) Object.assign(headers, auth(c.uid));
  if (c.contentType !== null && c.body !== undefined) headers['content-type'] = c.contentType ?? 'application/json';
  let status: number;
  let body: string;
  try {
    if (c.via === 'http') {
      const res = await rawHttp(port, {
        method: c.method,
        path: c.url,
        headers,
        ...(c.body === undefined ? {} : { body: Buffer.isBuffer(c.body) ? c.body : Buffer.from(c.body) }),
        ...(c.chunked ? { chunked: true } : {}),
      });
      ({ status, body } = res);
    } else {
      const res = await server.app.inject({ method: c.method, url: c.url, headers, ...(c.body === undefined ? {} : { payload: c.body }) });
      status = res.statusCode;
      body = res.body;
    }
  } catch (err) {
    fail(c, `the request failed: ${(err as Error).message}`);
    return 'no answer';
  }
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  for (const p of httpProblems(status, body)) fail(c, p);
  if (c.expect !== undefined && status !== c.expect && status < 500) fail(c, `expected ${c.expect}, got ${status}: ${body.slice(0, 300)}`);

  // What this answer may have written.
  let mayWrite = c.mayWriteAnyway === true || (status >= 200 && status < 300);
  let acceptedHere: number | undefined;
  if (c.url === '/events' && c.method === 'POST' && status === 200) {
    let results: unknown;
    try {
      results = (JSON.parse(body) as { events?: unknown }).events;
    } catch {
      results = undefined;
    }
    const r = pushProblems(results, batchSize(c.body));
    for (const p of r.problems) fail(c, p);
    acceptedHere = r.accepted;
    accepted += r.accepted;
    mayWrite = r.accepted > 0;
  }
  if (c.url === '/budget' && status === 200) mayWrite = false; // a replay

  const after = await dbState(sql);
  if (!mayWrite) {
    compared++;
    if (after.digest !== state.digest) {
      fail(
        c,
        `answered ${status} and accepted nothing, but the database changed (events ${state.events} → ${after.events}, heads ${state.heads} → ${after.heads}; tables now ${JSON.stringify(await tableCounts(sql))})`,
      );
    }
  } else if (acceptedHere !== undefined) {
    // Accepted events are accounted for: one log row and one sequence each, nothing more.
    if (after.events - state.events !== acceptedHere || after.heads - state.heads !== acceptedHere) {
      fail(
        c,
        `${acceptedHere} events accepted, but the log grew by ${after.events - state.events} rows and the heads by ${after.heads - state.heads}`,
      );
    }
  }
  if (after.digest !== state.digest) {
    await world.refresh();
    await world.ensureAlive(rng.fork(1_000_000 + statuses.size + accepted));
    state = await dbState(sql);
  } else {
    state = after;
  }
  return `${status}${acceptedHere !== undefined ? ` (${acceptedHere} accepted)` : ''}`;
}

// ---- fixed cases: every kind of hostile input, whatever the seed --------------------------------------

const fixedRng = rng.fork(-2);
const main = world.ours()[0]?.id as string;
const cat = world.categories.find((c) => c.budgetId === main && !c.deleted)?.id as string;
const validEvent = () => world.event(fixedRng, 'category.add');
const json = (v: unknown) => JSON.stringify(v);
const TEN_MB = 10 * 1024 * 1024;
const tenMbJson = Buffer.from(`{"events":[{"eventId":"${fixedRng.uuid()}","eventType":"category.add","note":"${'x'.repeat(TEN_MB)}"}]}`);

const fixed: Case[] = [
  { label: 'a batch of 0 events', method: 'POST', url: '/events', uid: OWNER, body: json({ events: [] }), expect: 400 },
  {
    label: 'a batch of 26 events',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: json({ events: Array.from({ length: 26 }, validEvent) }),
    expect: 400,
  },
  {
    label: 'a batch of 1000 events',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: json({ events: Array.from({ length: 1000 }, validEvent) }),
    expect: 400,
  },
  {
    label: 'a batch of 25 valid events',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: json({ events: Array.from({ length: 25 }, validEvent), mode: 'independent' }),
    expect: 200,
  },
  {
    label: 'a body of 10k nested arrays',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
    expect: 400,
  },
  {
    label: 'a body of 10k nested objects',
    method: 'POST',
    url: '/budget',
    uid: OWNER,
    body: `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`,
    expect: 400,
  },
  {
    label: 'events of 10k nested arrays',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: `{"events":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    expect: 400,
  },
  {
    label: 'a note of 10k nested objects',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: `{"events":[${json(world.event(fixedRng, 'expense.add')).slice(0, -1)},"note":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}]}`,
    expect: 200,
  },
  {
    label: 'a title of 10k nested arrays',
    method: 'POST',
    url: '/budget',
    uid: OWNER,
    body: `{"eventId":"${fixedRng.uuid()}","id":"${fixedRng.uuid()}","when":1,"title":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    expect: 400,
  },
  {
    label: 'a __proto__ key in an event',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: `{"events":[${json(validEvent()).slice(0, -1)},"__proto__":{"isAdmin":true}}]}`,
    expect: 400,
  },
  {
    label: 'a top-level __proto__ key',
    method: 'PUT',
    url: '/user',
    uid: OWNER,
    body: '{"firstName":"x","__proto__":{"email":"evil@example.com"}}',
    expect: 400,
  },
  {
    label: 'a constructor.prototype key',
    method: 'POST',
    url: `/budgets/${main}/invites`,
    uid: OWNER,
    body: '{"constructor":{"prototype":{"maxUses":1}}}',
    expect: 400,
  },
  {
    label: 'duplicated keys, the second an unknown mode',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: `{"events":[${json(validEvent())}],"mode":"independent","mode":"bestEffort"}`,
    expect: 400,
  },
  {
    label: 'a lone surrogate escape in a name',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: `{"events":[${json({ ...validEvent(), name: 'PLACEHOLDER' }).replace('PLACEHOLDER', '\\ud800')}]}`,
  },
  {
    label: 'a NUL escape in a title',
    method: 'POST',
    url: '/budget',
    uid: OWNER,
    body: `{"eventId":"${fixedRng.uuid()}","id":"${fixedRng.uuid()}","when":1,"title":"a\\u0000b"}`,
    expect: 400,
  },
  {
    label: 'an expense with 1e400 as its amount',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: `{"events":[${json({ ...world.event(fixedRng, 'expense.add'), amount: 'X' }).replace('"X"', '1e400')}]}`,
    expect: 200,
  },
  {
    label: 'a version of -0',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: `{"events":[${json({ ...world.event(fixedRng, 'category.edit'), version: 'X' }).replace('"X"', '-0')}]}`,
    expect: 200,
  },
  {
    label: 'when = 2^64',
    method: 'POST',
    url: '/budget',
    uid: OWNER,
    body: `{"eventId":"${fixedRng.uuid()}","id":"${fixedRng.uuid()}","title":"t","when":18446744073709551616}`,
    expect: 400,
  },
  {
    label: "an expense in another budget's category",
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: json({
      events: [
        { ...world.event(fixedRng, 'expense.add'), categoryId: world.categories.find((c) => c.budgetId === world.theirs()[0]?.id)?.id },
      ],
    }),
    expect: 200,
  },
  {
    label: "an edit of another budget's expense",
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: json({
      events: [
        {
          eventId: fixedRng.uuid(),
          eventType: 'expense.edit',
          budgetId: main,
          recordId: world.expenses.find((e) => e.budgetId === world.theirs()[0]?.id)?.id,
          version: 1,
          amount: '1',
          when: 1,
        },
      ],
    }),
    expect: 200,
  },
  {
    label: 'an add to another budget',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: json({ events: [{ ...validEvent(), budgetId: world.theirs()[0]?.id }] }),
    expect: 200,
  },
  {
    label: 'an upper-case budget id (valid)',
    method: 'POST',
    url: '/events',
    uid: MEMBER,
    body: json({ events: [{ ...world.event(fixedRng, 'expense.add'), budgetId: main.toUpperCase(), categoryId: cat.toUpperCase() }] }),
    expect: 200,
  },
  {
    label: 'text/plain',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    body: json({ events: [validEvent()] }),
    contentType: 'text/plain',
    expect: 415,
  },
  { label: 'no content type', method: 'PUT', url: '/user', uid: OWNER, body: json({ firstName: 'x' }), contentType: null },
  // Over the real port: bytes that are not UTF-8, and 10 MB bodies.
  { label: 'a body of 0xff 0xfe', method: 'POST', url: '/events', uid: OWNER, via: 'http', body: Buffer.from([0xff, 0xfe]), expect: 400 },
  {
    label: 'a body of 0xff 0xfe then JSON',
    method: 'POST',
    url: '/budget',
    uid: OWNER,
    via: 'http',
    body: Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(json({ eventId: fixedRng.uuid(), id: fixedRng.uuid(), title: 't', when: 1 })),
    ]),
    expect: 400,
  },
  {
    label: 'UTF-16LE JSON',
    method: 'PUT',
    url: '/user',
    uid: OWNER,
    via: 'http',
    body: Buffer.from(json({ firstName: 'x' }), 'utf16le'),
    expect: 400,
  },
  {
    label: '0xff inside a note',
    method: 'POST',
    url: '/events',
    uid: OWNER,
    via: 'http',
    body: Buffer.from(json({ events: [{ ...world.event(fixedRng, 'expense.add'), note: '@@' }] }).replace('@@', '\u00ff'), 'latin1'),
  },
  {
    label: 'an overlong "/" (0xc0 0xaf) in a title',
    method: 'POST',
    url: '/budget',
    uid: OWNER,
    via: 'http',
    body: Buffer.concat([
      Buffer.from(`{"eventId":"${fixedRng.uuid()}","id":"${fixedRng.uuid()}","when":1,"title":"a`),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from('"}'),
    ]),
  },
  {
    label: 'a CESU-8 surrogate (0xed 0xa0 0x80) in a first name',
    method: 'PUT',
    url: '/user',
    uid: MEMBER,
    via: 'http',
    body: Buffer.concat([Buffer.from('{"firstName":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
  },
  {
    label: 'a truncated UTF-8 sequence in a key',
    method: 'POST',
    url: `/budgets/${main}/invites`,
    uid: OWNER,
    via: 'http',
    body: Buffer.concat([Buffer.from('{"max'), Buffer.from([0xe2, 0x82]), Buffer.from('Uses":2}')]),
    expect: 400,
  },
  { label: 'a 10 MB push with Content-Length', method: 'POST', url: '/events', uid: OWNER, via: 'http', body: tenMbJson, expect: 413 },
  { label: 'a 10 MB push, chunked', method: 'POST', url: '/events', uid: OWNER, via: 'http', body: tenMbJson, chunked: true, expect: 413 },
  { label: 'a 10 MB budget', method: 'POST', url: '/budget', uid: OWNER, via: 'http', body: tenMbJson, expect: 413 },
  {
    label: 'a 10 MB user update of binary junk',
    method: 'PUT',
    url: '/user',
    uid: OWNER,
    via: 'http',
    body: Buffer.alloc(TEN_MB, 0xff),
    expect: 413,
  },
  {
    label: 'a 10 MB invite body, chunked',
    method: 'POST',
    url: `/budgets/${main}/invites`,
    uid: OWNER,
    via: 'http',
    body: tenMbJson,
    chunked: true,
    expect: 413,
  },
];

t.test('fixed hostile inputs', async (t) => {
  current = t;
  const before = failures.length;
  for (const c of fixed) t.comment(`${c.label}: ${await exercise(c)}`);
  t.equal(failures.length - before, 0, `seed=${seed}: ${fixed.length} fixed cases, no failure`);
});

// Event types named like Object.prototype members: found by this fuzzer (a `type in CHECKERS` lookup
// follows the prototype chain). Each is one bad event: a 200 with a rejected result.
t.test('event types named like Object.prototype members are rejected events, not a 500', async (t) => {
  current = t;
  const before = failures.length;
  for (const [field, type] of [
    ['eventType', 'toString'],
    ['eventType', '__proto__'],
    ['eventType', 'constructor'],
    ['event', 'hasOwnProperty'],
    ['eventType', 'valueOf'],
  ] as const) {
    const body = json({ events: [{ eventId: fixedRng.uuid(), [field]: type, budgetId: main, when: 1 }] });
    await exercise({ label: `${field} ${JSON.stringify(type)}`, method: 'POST', url: '/events', uid: OWNER, body, expect: 200 });
  }
  t.equal(failures.length - before, 0, `seed=${seed}: prototype-named event types, no failure`);
});

// Hostile token claims (a Firebase uid is chosen by the app's backend, a display name and email by
// the user): a first request creates the user's row from them, so these may write; they must still
// never be a 5xx.
const claims: [string, string, Parameters<typeof mintDevToken>[2]][] = [
  ['a display name with NUL', 'fz-claims-1', { name: 'Eve\u0000 Null' }],
  ['an email claim with NUL', 'fz-claims-2', { email: 'eve\u0000@example.com' }],
  ['a display name with a lone surrogate', 'fz-claims-3', { name: '\ud800 Eve' }],
  ['a 100 kB display name', 'fz-claims-4', { name: `${'x'.repeat(50_000)} ${'y'.repeat(50_000)}` }],
  ['a uid with NUL', 'fz\u0000claims', {}],
  ['a uid of 128 emoji code units', '😀'.repeat(64), {}],
];

t.test('tokens with hostile claims', async (t) => {
  current = t;
  const before = failures.length;
  for (const [label, uid, options] of claims) {
    await exercise({
      label: `a token with ${label}`,
      method: 'GET',
      url: '/user',
      authorization: `Bearer ${mintDevToken(TEST_SECRET, uid, options)}`,
      mayWriteAnyway: true,
    });
  }
  t.equal(failures.length - before, 0, `seed=${seed}: ${claims.length} tokens with hostile claims, no 5xx`);
});

// ---- random mutations -----------------------------------------------------------------------------------

interface Target {
  name: string;
  method: Method;
  url(r: Rng): string;
  body(r: Rng): unknown;
}

/** A budget id in a URL: usually a real one, sometimes upper case or of the wrong kind. */
const urlBudget = (r: Rng) => {
  const id = world.budgetId(r);
  return r.weighted<() => string>([
    [8, () => id],
    [1, () => id.toUpperCase()],
    [1, () => (world.categories.length > 0 ? r.pick(world.categories).id : id)],
  ])();
};

const TARGETS: readonly (readonly [number, Target])[] = [
  [
    12,
    {
      name: 'push',
      method: 'POST',
      url: () => '/events',
      body: (r) => {
        const body = world.pushBody(r);
        if (r.chance(0.06)) {
          const n = r.pick([0, 25, 26, 1000]);
          body.events = Array.from({ length: n }, () => world.event(r));
        }
        return body;
      },
    },
  ],
  [2, { name: 'create budget', method: 'POST', url: () => '/budget', body: (r) => world.budgetBody(r) }],
  [2, { name: 'update user', method: 'PUT', url: () => '/user', body: (r) => world.userBody(r) }],
  [2, { name: 'invite', method: 'POST', url: (r) => `/budgets/${urlBudget(r)}/invites`, body: (r) => world.inviteBody(r) }],
  [2, { name: 'hand over', method: 'PUT', url: (r) => `/budgets/${urlBudget(r)}/owner`, body: (r) => world.ownerBody(r) }],
];

t.test(`${iterations} random mutations of valid bodies`, async (t) => {
  current = t;
  const before = failures.length;
  for (let i = 0; i < iterations; i++) {
    const r = rng.fork(i);
    const target = r.weighted(TARGETS);
    const uid = world.uid(r);
    const url = target.url(r);
    const d = new Draft(target.body(r));
    const count = r.weighted([
      [1, 0],
      [6, 1],
      [3, 2],
      [1, 3],
    ] as const);
    mutate(d, r, { pool: world.pool(), deepDepth: 10_000 }, count);
    let body: string | Buffer = d.serialise();
    const notes = [...d.notes];
    if (r.chance(0.15)) {
      const name = r.weighted(TEXT_WEIGHTS);
      const m = (TEXT_MUTATORS[name] as (typeof TEXT_MUTATORS)[string])(body, r);
      body = m.body;
      notes.push(m.note);
    }
    let contentType: string | null = 'application/json';
    if (r.chance(0.06)) {
      contentType = r.pick(CONTENT_TYPES);
      notes.push(`content-type ${JSON.stringify(contentType)}`);
    }
    const label = `iteration ${i} (${target.name}${notes.length > 0 ? `: ${notes.join('; ')}` : ': unmutated'})`;
    await exercise({ label, method: target.method, url, uid, body, contentType });
  }
  t.equal(failures.length - before, 0, `seed=${seed}: ${iterations} mutated requests, no failure`);
});

t.test('the server is still ready and still takes a normal push', async (t) => {
  t.equal((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, `seed=${seed}: /readyz`);
  const health = await rawHttp(port, { method: 'GET', path: '/healthz', headers: {} });
  t.equal(health.status, 200, `seed=${seed}: /healthz over the real port`);
  await world.refresh();
  await world.ensureAlive(rng.fork(-3));
  const event = world.event(rng.fork(-4), 'category.add');
  const budget = world.budgets.find((b) => b.id === event.budgetId);
  const uid = budget?.participants.includes(OWNER) ? OWNER : MEMBER;
  const res = await server.app.inject({
    method: 'POST',
    url: '/events',
    headers: { authorization: `Bearer ${token(uid)}` },
    payload: { events: [event] },
  });
  t.equal(res.statusCode, 200, `seed=${seed}: a normal push answers 200`);
  t.match(res.json(), { events: [{ status: 'accepted', sequence: Number }] }, `seed=${seed}: and is accepted`);
  t.comment(
    `seed=${seed}: ${[...statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(
        ' ',
      )}; ${accepted} events accepted; ${compared} refusals checked against the database; ${failures.length} failures; ${Date.now() - started} ms`,
  );
});
