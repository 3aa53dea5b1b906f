import t from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { ev, type PushResultJson } from '../helpers/api.js';
import { auth, uuid } from '../helpers/server.js';
import { type Ctx, expectError, setup, writeState } from '../sync/fixtures/support.js';

let ctx: Ctx;
let budgetId: string;
let categoryId: string;
let expenseId: string;
/** Every response of this file, to check that none was a 5xx. */
const seen: { label: string; status: number }[] = [];

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
async function raw(
  label: string,
  method: Method,
  url: string,
  opts: { uid?: string | null; payload?: string | Buffer; contentType?: string } = {},
) {
  const headers: Record<string, string> = opts.uid === null ? {} : auth(opts.uid ?? 'owner');
  if (opts.contentType !== undefined) headers['content-type'] = opts.contentType;
  const res = await ctx.server.app.inject({ method, url, headers, ...(opts.payload === undefined ? {} : { payload: opts.payload }) });
  seen.push({ label, status: res.statusCode });
  return res;
}
const send = (label: string, method: Method, url: string, body: unknown, uid = 'owner') =>
  raw(label, method, url, { uid, payload: JSON.stringify(body), contentType: 'application/json' });

t.before(async () => {
  ctx = await setup(t);
  budgetId = await ctx.api.createBudget('owner');
  const cat = ev.categoryAdd(budgetId);
  const exp = ev.expenseAdd(budgetId, cat.recordId);
  await ctx.api.push('owner', [cat, exp]);
  categoryId = cat.recordId;
  expenseId = exp.recordId;
});

t.test('an empty JSON body on a route that takes none is no body, not bad JSON', async (t) => {
  const res = await raw('an empty body where none is needed', 'POST', `/budgets/${budgetId}/invites`, {
    payload: '',
    contentType: 'application/json',
  });
  t.equal(res.statusCode, 201);
  await ctx.sql`DELETE FROM invites`; // later tests check that bad input creates none
});

t.test('a body that is not a push request is a 400 and writes nothing', async (t) => {
  const before = await writeState(ctx.sql);
  const malformed: [string, string][] = [
    ['truncated JSON', '{"events": ['],
    ['not JSON at all', 'hello'],
    ['a trailing comma', '{"events": [],}'],
  ];
  for (const [name, payload] of malformed) {
    expectError(t, await raw(name, 'POST', '/events', { payload, contentType: 'application/json' }), 400, 'INVALID_JSON', name);
  }
  // An empty JSON body means "no body" (routes without one accept it); here the body is required.
  expectError(
    t,
    await raw('an empty body', 'POST', '/events', { payload: '', contentType: 'application/json' }),
    400,
    'VALIDATION_FAILED',
    'an empty body',
  );
  const good = () => ev.categoryAdd(budgetId);
  const invalid: [string, unknown, string?][] = [
    ['null', null],
    ['an array', [good()]],
    ['a string', 'events'],
    ['a number', 5],
    ['no events', {}],
    ['events not an array', { events: good() }],
    ['0 events', { events: [] }, '/events'],
    ['26 events', { events: Array.from({ length: 26 }, good) }, '/events'],
    ['an unknown mode', { events: [good()], mode: 'bestEffort' }, '/mode'],
    ['an unknown top-level field', { events: [good()], atomic: true }],
    ['an element without an eventId', { events: [good(), { ...good(), eventId: undefined }] }, '/events/1/eventId'],
    ['an element with a non-UUID eventId', { events: [{ ...good(), eventId: 'abc' }] }, '/events/0/eventId'],
    ['an element with a numeric eventId', { events: [{ ...good(), eventId: 12 }] }, '/events/0/eventId'],
    ['an element that is not an object', { events: [good(), 'category.add'] }, '/events/1/eventId'],
    ['an element that is null', { events: [null] }, '/events/0/eventId'],
  ];
  for (const [name, body, path] of invalid) {
    const err = expectError(t, await send(name, 'POST', '/events', body), 400, 'VALIDATION_FAILED', name);
    t.ok(Array.isArray(err?.details) && ((err?.details ?? []) as unknown[]).length > 0, `${name}: details list the problem`);
    if (path)
      t.ok(
        ((err?.details ?? []) as { path: string }[]).some((d) => d.path.endsWith(path)),
        `${name}: a detail points at ${path}`,
      );
  }
  // Prototype keys are refused by the JSON parser; deep nesting is refused by the schema, not by a stack overflow.
  const proto = `{"events":[${JSON.stringify(good()).slice(0, -1)},"__proto__":{"admin":true}}]}`;
  expectError(
    t,
    await raw('__proto__', 'POST', '/events', { payload: proto, contentType: 'application/json' }),
    400,
    'INVALID_JSON',
    'a __proto__ key',
  );
  const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
  const nested = await raw('deep', 'POST', '/events', {
    payload: `{"events":[${JSON.stringify(good()).slice(0, -1)},"name":${deep}}]}`,
    contentType: 'application/json',
  });
  t.equal(nested.statusCode, 200, 'a deeply nested field is an ordinary bad event');
  t.match(nested.json(), { events: [{ status: 'rejected', error: { code: 'VALIDATION_FAILED' } }] });
  t.same(await writeState(ctx.sql), before, 'nothing was written');
});

t.test('each bad event is a rejected VALIDATION_FAILED result with details, never a 400 for the batch, never a write', async (t) => {
  const before = await writeState(ctx.sql);
  const big = 'x'.repeat(100_000);
  const add = (over: Record<string, unknown>) => ev.categoryAdd(budgetId, over);
  const exp = (over: Record<string, unknown>) => ev.expenseAdd(budgetId, categoryId, over);
  const edit = (type: string, id: string, fields: Record<string, unknown>) => ev.edit(type, budgetId, id, 1, fields);
  const cases: [string, unknown][] = [
    ['a non-UUID budgetId', { ...add({}), budgetId: 'budget-1' }],
    ['a non-UUID recordId', add({ recordId: '1234' })],
    ['a UUID with a wrong grouping', add({ recordId: uuid().replace(/-/g, '') })],
    ['a non-UUID categoryId', exp({ categoryId: 'food' })],
    ['amount with three decimals', exp({ amount: '1.234' })],
    ['amount with eleven digits', exp({ amount: '12345678901' })],
    ['amount in exponent form', exp({ amount: '1e5' })],
    ['a negative amount', exp({ amount: '-1' })],
    ['amount as a JSON number', exp({ amount: 5 })],
    ['amount with a space', exp({ amount: ' 1' })],
    ['amount with a trailing dot', exp({ amount: '1.' })],
    ['amount without integer digits', exp({ amount: '.5' })],
    ['an empty amount', exp({ amount: '' })],
    ['allocate as a number', add({ allocate: 100 })],
    ['allocate with a comma', add({ allocate: '1,5' })],
    ['date 2025-02-30', exp({ date: '2025-02-30' })],
    ['date with month 13', exp({ date: '2025-13-01' })],
    ['date without dashes', exp({ date: '20250506' })],
    ['date with a time', exp({ date: '2025-05-06T00:00:00Z' })],
    ['date as a number', exp({ date: 20250506 })],
    ['a 100 kB note', exp({ note: big })],
    ['a 100 kB name', add({ name: big })],
    ['a 100 kB title', edit('budget.edit', budgetId, { title: big })],
    ['a name with \\u0000', add({ name: 'a\u0000b' })],
    ['a note with \\u0000', exp({ note: '\u0000' })],
    ['details with \\u0000', edit('budget.edit', budgetId, { details: 'x\u0000' })],
    ['an empty name', add({ name: '' })],
    ['an empty title', edit('budget.edit', budgetId, { title: '' })],
    ['an unknown eventType', add({ eventType: 'category.rename' })],
    ['no eventType', { ...add({}), eventType: undefined }],
    ['eventType as a number', add({ eventType: 7 })],
    ['server-only budget.create', { ...add({}), eventType: 'budget.create', title: 'x' }],
    ['server-only participant.add', { ...add({}), eventType: 'participant.add' }],
    ['server-only participant.remove', { ...add({}), eventType: 'participant.remove' }],
    ['server-only participant.role', { ...add({}), eventType: 'participant.role' }],
    ['version as a string', { ...edit('category.edit', categoryId, { name: 'x' }), version: '1' }],
    ['version 0', { ...edit('category.edit', categoryId, { name: 'x' }), version: 0 }],
    ['version 1.5', { ...edit('category.edit', categoryId, { name: 'x' }), version: 1.5 }],
    ['no version on an edit', { ...edit('expense.edit', expenseId, { amount: '1' }), version: undefined }],
    ['no version on a delete', { ...ev.del('expense.delete', budgetId, expenseId, 1), version: undefined }],
    ['when as a string', add({ when: 'now' })],
    ['a negative when', add({ when: -1 })],
    ['no when', add({ when: undefined })],
    ['name as a number', add({ name: 5 })],
    ['details as a number', edit('budget.edit', budgetId, { details: 5 })],
    ['note as an object', exp({ note: { text: 'x' } })],
    ['title null', edit('budget.edit', budgetId, { title: null })],
    ['name null', edit('category.edit', categoryId, { name: null })],
    ['an extra field', add({ colour: 'red' })],
    ['a version on an add', add({ version: 1 })],
    ['a category field on a category edit', edit('category.edit', categoryId, { name: 'x', categoryId })],
    ['a budget.edit with no field', edit('budget.edit', budgetId, {})],
    ['a category.edit with no field', edit('category.edit', categoryId, {})],
    ['an expense.edit with no field', edit('expense.edit', expenseId, {})],
    ['a category.add without recordId', add({ recordId: undefined })],
    ['an expense.add without categoryId', exp({ categoryId: undefined })],
  ];
  // JSON.stringify drops undefined fields: "no X" cases really lack the field.
  for (let i = 0; i < cases.length; i += 25) {
    const chunk = cases.slice(i, i + 25);
    const res = await send('bad events', 'POST', '/events', { events: chunk.map(([, e]) => e), mode: 'independent' });
    t.equal(res.statusCode, 200, 'a batch of bad events is still a 200');
    const results = (res.json() as { events: (PushResultJson & { error: { details?: { path: string; message: string }[] } })[] }).events;
    chunk.forEach(([name, e], j) => {
      const r = results[j];
      t.match(r, { status: 'rejected', error: { code: 'VALIDATION_FAILED', message: String } }, name);
      t.ok(Array.isArray(r?.error.details) && (r?.error.details?.length ?? 0) > 0, `${name}: details say what is wrong`);
      t.equal(r?.eventId, (e as { eventId: string }).eventId, `${name}: the result names its eventId`);
    });
  }
  t.same(await writeState(ctx.sql), before, 'nothing was written');
  // The same events, one by one in stopOnError, are rejected too: nothing slips through on its own.
  const [alone] = await ctx.api.push('owner', [ev.expenseAdd(budgetId, categoryId, { amount: '1.234' })]);
  t.equal(alone?.error?.code, 'VALIDATION_FAILED');
});

t.test('POST /budget, invites, ownership and /user refuse bad bodies with a 400 and details', async (t) => {
  const before = await writeState(ctx.sql);
  const okBudget = () => ({ eventId: uuid(), id: uuid(), title: 'T', when: 1 });
  const cases: [string, Method, string, unknown][] = [
    ['a budget with a non-UUID id', 'POST', '/budget', { ...okBudget(), id: 'b1' }],
    ['a budget without eventId', 'POST', '/budget', { ...okBudget(), eventId: undefined }],
    ['a budget with an empty title', 'POST', '/budget', { ...okBudget(), title: '' }],
    ['a budget with a 100 kB title', 'POST', '/budget', { ...okBudget(), title: 'x'.repeat(100_000) }],
    ['a budget with \\u0000 in its title', 'POST', '/budget', { ...okBudget(), title: 'a\u0000' }],
    ['a budget with a negative when', 'POST', '/budget', { ...okBudget(), when: -5 }],
    ['a budget with when as a string', 'POST', '/budget', { ...okBudget(), when: '1' }],
    ['a budget with an extra field', 'POST', '/budget', { ...okBudget(), ownerId: 'mallory' }],
    ['a budget as an array', 'POST', '/budget', [okBudget()]],
    ['an invite valid for 1 s', 'POST', `/budgets/${budgetId}/invites`, { expiresInSeconds: 1 }],
    ['an invite with 0 uses', 'POST', `/budgets/${budgetId}/invites`, { maxUses: 0 }],
    ['an invite with an extra field', 'POST', `/budgets/${budgetId}/invites`, { role: 'owner' }],
    ['an owner hand-over to ""', 'PUT', `/budgets/${budgetId}/owner`, { userId: '' }],
    ['an owner hand-over without userId', 'PUT', `/budgets/${budgetId}/owner`, {}],
    ['a user update with a bad email', 'PUT', '/user', { email: 'not-an-email' }],
    ['a user update with \\u0000 in the email', 'PUT', '/user', { email: 'a\u0000@b.c' }],
    ['a user update with \\u0000 in the name', 'PUT', '/user', { firstName: 'a\u0000' }],
    ['a user update with an unknown field', 'PUT', '/user', { photo: 'http://evil' }],
  ];
  for (const [name, method, url, body] of cases) {
    const err = expectError(t, await send(name, method, url, body), 400, 'VALIDATION_FAILED', name);
    t.ok(Array.isArray(err?.details), `${name}: with details`);
  }
  t.same(await writeState(ctx.sql), before, 'nothing was written');
  const [invites] = await ctx.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM invites`;
  t.equal(invites?.n, 0, 'no invite was created');
});

t.test('bad path and query parameters are a 400 with details', async (t) => {
  const cases: [string, string][] = [
    ['count=0', `/events?budgetId=${budgetId}&count=0&wait=0`],
    ['count=501', `/events?budgetId=${budgetId}&count=501&wait=0`],
    ['count=1.5', `/events?budgetId=${budgetId}&count=1.5&wait=0`],
    ['count=abc', `/events?budgetId=${budgetId}&count=abc&wait=0`],
    ['key=abc', `/events?budgetId=${budgetId}&key=abc&wait=0`],
    ['key=-1', `/events?budgetId=${budgetId}&key=-1&wait=0`],
    ['key=1e23', `/events?budgetId=${budgetId}&key=1e23&wait=0`],
    ['an empty key', `/events?budgetId=${budgetId}&key=&wait=0`],
    ['wait=61', `/events?budgetId=${budgetId}&wait=61`],
    ['wait=-1', `/events?budgetId=${budgetId}&wait=-1`],
    ['no budgetId', '/events?wait=0'],
    ['budgetId=abc', '/events?budgetId=abc&wait=0'],
    ['budgets count=0', '/budgets?count=0'],
    ['budgets count=501', '/budgets?count=501'],
    ['budgets count=1.5', '/budgets?count=1.5'],
    ['budgets key=abc', '/budgets?key=abc'],
    ['expenses count=0', `/budgets/${budgetId}/expenses?count=0`],
    ['expenses key=1', `/budgets/${budgetId}/expenses?key=1`],
    ['summary from=2025-02-30', `/budgets/${budgetId}/summary?from=2025-02-30`],
    ['summary to=abc', `/budgets/${budgetId}/summary?to=abc`],
    ['a non-UUID budget id', '/budgets/123'],
    ['a non-UUID budget id in a sub-route', '/budgets/123/snapshot'],
    ['a non-UUID category id', `/budgets/${budgetId}/categories/xyz`],
    ['a non-UUID expense id', `/budgets/${budgetId}/expenses/xyz`],
    ['a participant id with \\u0000', `/budgets/${budgetId}/participants/a%00b`],
    ['a profile id with \\u0000', '/profiles/%00'],
    ['a join token with bad characters', `/budgets/${budgetId}/join?token=${'%21'.repeat(20)}`],
    ['a too short join token', `/budgets/${budgetId}/join?token=abc`],
  ];
  for (const [name, url] of cases) {
    const err = expectError(t, await raw(name, 'GET', url), 400, 'VALIDATION_FAILED', name);
    t.ok(Array.isArray(err?.details) && ((err?.details ?? []) as unknown[]).length > 0, `${name}: with details`);
  }
  expectError(
    t,
    await raw('remove \\u0000', 'DELETE', `/budgets/${budgetId}/participants/%00`),
    400,
    'VALIDATION_FAILED',
    'removing a \\u0000 participant',
  );
});

// fastify answers these two itself, before routing, unless `buildApp` passes `frameworkErrors`
// (src/http/errors.ts exports one) and a `maxParamLength` of at least 128 (uids are 1..128 chars).
t.test('URLs that fastify refuses before routing are 400s in the envelope', async (t) => {
  expectError(t, await raw('bad percent-encoding', 'GET', '/budgets/%E0%A4%A'), 400, 'BAD_REQUEST', 'a URL that cannot be decoded');
  expectError(
    t,
    await raw('long param', 'GET', `/budgets/${budgetId}/participants/${'u'.repeat(129)}`),
    400,
    'VALIDATION_FAILED',
    'a participant id longer than 128',
  );
  const res = await raw('128-char uid', 'GET', `/profiles/${'u'.repeat(128)}`);
  expectError(t, res, 404, 'USER_NOT_FOUND', 'a 128-character uid is a valid id');
});

t.test('oversize bodies are 413, wrong content types 415, unknown routes 404 — all in the envelope', async (t) => {
  const before = await writeState(ctx.sql);
  const huge = JSON.stringify({ events: [ev.expenseAdd(budgetId, categoryId, { note: 'x'.repeat(1_100_000) })] });
  expectError(
    t,
    await raw('oversize', 'POST', '/events', { payload: huge, contentType: 'application/json' }),
    413,
    'PAYLOAD_TOO_LARGE',
    'a body over 1 MiB',
  );
  expectError(
    t,
    await raw('oversize budget', 'POST', '/budget', { payload: huge, contentType: 'application/json' }),
    413,
    'PAYLOAD_TOO_LARGE',
    'a POST /budget over 1 MiB',
  );
  const body = JSON.stringify({ events: [ev.categoryAdd(budgetId)] });
  expectError(
    t,
    await raw('text/plain', 'POST', '/events', { payload: body, contentType: 'text/plain' }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'text/plain',
  );
  expectError(
    t,
    await raw('form', 'POST', '/events', { payload: 'events=1', contentType: 'application/x-www-form-urlencoded' }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'a form',
  );
  expectError(
    t,
    await raw('xml', 'POST', '/budget', { payload: '<budget/>', contentType: 'application/xml' }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'xml',
  );
  t.equal(
    (await raw('charset', 'POST', '/events', { payload: body, contentType: 'application/json; charset=utf-8' })).statusCode,
    200,
    'a charset parameter is fine',
  );
  t.equal((await writeState(ctx.sql)).events, before.events + 1, 'only the good request wrote');

  for (const [method, url, uid] of [
    ['GET', '/nope', 'owner'],
    ['GET', '/nope', null],
    ['POST', '/budgets', 'owner'],
    ['PATCH', `/budgets/${budgetId}`, 'owner'],
    ['GET', '/budget', 'owner'],
  ] as const) {
    const res = await ctx.server.app.inject({ method, url, headers: uid ? auth(uid) : {} });
    seen.push({ label: url, status: res.statusCode });
    const err = expectError(t, res, 404, 'NOT_FOUND', `${method} ${url}${uid ? '' : ' without a token'}`);
    t.match(err?.message, url, 'the message names the route');
  }
});

t.test('tokens that are missing, malformed or forged are a 401', async (t) => {
  const url = `/budgets/${budgetId}`;
  const variants: [string, Record<string, string>][] = [
    ['no Authorization header', {}],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['another scheme', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ['a garbage token', { authorization: 'Bearer garbage' }],
    ['a forged signature', { authorization: `${auth('owner').authorization.slice(0, -4)}AAAA` }],
    ['a uid as the token (the original service trusted that)', { authorization: 'owner' }],
  ];
  for (const [name, headers] of variants) {
    const res = await ctx.server.app.inject({ method: 'GET', url, headers });
    seen.push({ label: name, status: res.statusCode });
    expectError(t, res, 401, 'UNAUTHENTICATED', name);
  }
});

t.test('no response of this file was a 5xx', async (t) => {
  const fives = seen.filter((s) => s.status >= 500);
  t.same(fives, [], `${seen.length} responses, none a 5xx`);
  t.ok(seen.length > 50, 'the check covered the requests above');
});

t.test('the rate limit is per user: the 6th request in a window is 429 RATE_LIMITED with Retry-After', async (t) => {
  const { server } = await setup(t, { RATE_LIMIT_MAX: '5' });
  const get = (uid: string) => server.app.inject({ method: 'GET', url: '/budgets', headers: auth(uid) });
  const first: LightMyRequestResponse[] = [];
  for (let i = 0; i < 5; i++) first.push(await get('busy'));
  t.same(
    first.map((r) => r.statusCode),
    [200, 200, 200, 200, 200],
  );
  const limited = await get('busy');
  expectError(t, limited, 429, 'RATE_LIMITED', 'the 6th request');
  const retryAfter = Number(limited.headers['retry-after']);
  t.ok(
    Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60,
    `Retry-After is a number of seconds (${limited.headers['retry-after']})`,
  );
  const push = await server.app.inject({
    method: 'POST',
    url: '/events',
    headers: auth('busy'),
    payload: { events: [ev.categoryAdd(uuid())] },
  });
  t.equal(push.statusCode, 429, 'every route counts against the same budget');
  t.equal((await get('calm')).statusCode, 200, 'another user is not affected');
  for (const url of ['/healthz', '/readyz', '/metrics']) {
    const r = await Promise.all(Array.from({ length: 7 }, () => server.app.inject({ method: 'GET', url })));
    t.ok(
      r.every((x) => x.statusCode === 200),
      `${url} is not rate limited`,
    );
  }
});
