import t from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { type Api, ev } from '../helpers/api.js';
import { uuid } from '../helpers/server.js';
import { type Ctx, expectError, json, setup, writeState } from './fixtures/support.js';

type Role = 'anon' | 'outsider' | 'removed' | 'member' | 'owner';
const ROLES: Role[] = ['anon', 'outsider', 'removed', 'member', 'owner'];

interface Fixture {
  budgetId: string;
  categoryId: string;
  expenseId: string;
  token: string;
  owner: string;
  member: string;
  removed: string;
  outsider: string;
  /** A second member, the target of removal and ownership hand-over. */
  other: string;
}

let seq = 0;
/** A budget with an owner, two members, a removed member and an outsider (all fresh uids), a category and an expense. */
async function fixture(api: Api): Promise<Fixture> {
  const tag = `f${++seq}`;
  const f = {
    owner: `${tag}-owner`,
    member: `${tag}-member`,
    removed: `${tag}-removed`,
    outsider: `${tag}-outsider`,
    other: `${tag}-other`,
  };
  const budgetId = await api.createBudget(f.owner);
  await api.addMembers(budgetId, f.owner, f.member, f.removed, f.other);
  const rm = await api.req('DELETE', `/budgets/${budgetId}/participants/${f.removed}`, f.owner);
  if (rm.statusCode !== 200) throw new Error(`remove: ${rm.body}`);
  const cat = ev.categoryAdd(budgetId);
  const exp = ev.expenseAdd(budgetId, cat.recordId);
  await api.push(f.owner, [cat, exp]);
  const token = json<{ token: string }>(await api.req('POST', `/budgets/${budgetId}/invites`, f.owner, {})).token;
  return { ...f, budgetId, categoryId: cat.recordId, expenseId: exp.recordId, token };
}

const uidOf = (f: Fixture, role: Role): string | null => (role === 'anon' ? null : f[role]);

interface Expect {
  status: number;
  code?: string;
  check?: (t: Tap, body: Record<string, unknown>, f: Fixture) => unknown;
}
type Tap = Test;

interface Route {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: (f: Fixture) => string;
  body?: (f: Fixture) => unknown;
  /** Changes membership: each role gets a fresh fixture. */
  mutates?: boolean;
  /** Expected answer per role; roles not listed follow the default for budget routes. */
  expect: Partial<Record<Role, Expect>>;
  /** For a deleted budget (owner and member asking). */
  deleted?: Expect;
}

const OK: Expect = { status: 200 };
const budgetRead = (name: string, path: (f: Fixture) => string, check?: Expect['check']): Route => ({
  name: `GET ${name}`,
  method: 'GET',
  url: path,
  expect: { member: { status: 200, ...(check ? { check } : {}) }, owner: { status: 200, ...(check ? { check } : {}) } },
});

const ROUTES: Route[] = [
  {
    name: 'GET /budgets',
    method: 'GET',
    url: () => '/budgets',
    expect: {
      outsider: {
        status: 200,
        check: (t, b, f) =>
          t.notOk(
            (b.budgets as { id: string }[]).some((x) => x.id === f.budgetId),
            'not listed',
          ),
      },
      removed: {
        status: 200,
        check: (t, b, f) =>
          t.notOk(
            (b.budgets as { id: string }[]).some((x) => x.id === f.budgetId),
            'not listed',
          ),
      },
      member: {
        status: 200,
        check: (t, b, f) =>
          t.ok(
            (b.budgets as { id: string }[]).some((x) => x.id === f.budgetId),
            'listed',
          ),
      },
      owner: {
        status: 200,
        check: (t, b, f) =>
          t.ok(
            (b.budgets as { id: string }[]).some((x) => x.id === f.budgetId),
            'listed',
          ),
      },
    },
    deleted: {
      status: 200,
      check: (t, b, f) =>
        t.notOk(
          (b.budgets as { id: string }[]).some((x) => x.id === f.budgetId),
          'a deleted budget is not listed',
        ),
    },
  },
  budgetRead(
    '/budgets/:id',
    (f) => `/budgets/${f.budgetId}`,
    (t, b, f) => t.match(b, { budget: { id: f.budgetId }, lastSequence: Number }),
  ),
  budgetRead(
    '/budgets/:id/snapshot',
    (f) => `/budgets/${f.budgetId}/snapshot`,
    (t, b) => t.equal((b.expenses as unknown[]).length, 1),
  ),
  budgetRead(
    '/budgets/:id/last-event-sequence',
    (f) => `/budgets/${f.budgetId}/last-event-sequence`,
    (t, b, f) => t.match(b, { budgetId: f.budgetId, lastSequence: Number }),
  ),
  budgetRead(
    '/budgets/:id/participants',
    (f) => `/budgets/${f.budgetId}/participants`,
    (t, b, f) =>
      t.same(
        (b.participants as { userId: string }[]).map((p) => p.userId).sort(),
        [f.member, f.other, f.owner].sort(),
        'the removed member is not listed',
      ),
  ),
  budgetRead(
    '/budgets/:id/participants/:uid',
    (f) => `/budgets/${f.budgetId}/participants/${f.member}`,
    (t, b, f) => t.match(b, { participant: { userId: f.member, role: 'member' } }),
  ),
  budgetRead(
    '/budgets/:id/categories',
    (f) => `/budgets/${f.budgetId}/categories`,
    (t, b, f) => t.match(b, { categories: [{ id: f.categoryId }] }),
  ),
  budgetRead(
    '/budgets/:id/categories/:cid',
    (f) => `/budgets/${f.budgetId}/categories/${f.categoryId}`,
    (t, b, f) => t.match(b, { category: { id: f.categoryId } }),
  ),
  budgetRead(
    '/budgets/:id/expenses',
    (f) => `/budgets/${f.budgetId}/expenses`,
    (t, b, f) => t.match(b, { expenses: [{ id: f.expenseId }], nextKey: null }),
  ),
  budgetRead(
    '/budgets/:id/expenses/:eid',
    (f) => `/budgets/${f.budgetId}/expenses/${f.expenseId}`,
    (t, b, f) => t.match(b, { expense: { id: f.expenseId } }),
  ),
  budgetRead(
    '/budgets/:id/summary',
    (f) => `/budgets/${f.budgetId}/summary`,
    (t, b) => t.match(b, { totals: { count: 1 } }),
  ),
  budgetRead(
    '/events',
    (f) => `/events?budgetId=${f.budgetId}&wait=0`,
    (t, b) => t.ok((b.events as unknown[]).length >= 8, 'the stream'),
  ),
  {
    name: 'POST /budgets/:id/invites',
    method: 'POST',
    url: (f) => `/budgets/${f.budgetId}/invites`,
    body: () => ({}),
    expect: { member: { status: 201, check: (t, b) => t.type(b.token, 'string') }, owner: { status: 201 } },
  },
  {
    name: 'GET /budgets/:id/join?token=',
    method: 'GET',
    url: (f) => `/budgets/${f.budgetId}/join?token=${f.token}`,
    mutates: true,
    expect: {
      outsider: {
        status: 200,
        check: (t, b, f) => t.match(b, { budget: { id: f.budgetId }, participant: { userId: f.outsider, role: 'member' } }),
      },
      removed: { status: 200, check: (t, b, f) => t.match(b, { participant: { userId: f.removed, role: 'member' } }) },
      member: { status: 200, check: (t, b, f) => t.match(b, { participant: { userId: f.member, role: 'member' } }) },
      owner: { status: 200, check: (t, b, f) => t.match(b, { participant: { userId: f.owner, role: 'owner' } }) },
    },
    deleted: { status: 404, code: 'INVITE_INVALID' },
  },
  {
    name: 'POST /invites/:token/accept',
    method: 'POST',
    url: (f) => `/invites/${f.token}/accept`,
    mutates: true,
    expect: {
      outsider: { status: 200, check: (t, b, f) => t.match(b, { participant: { userId: f.outsider, role: 'member' } }) },
      removed: { status: 200 },
      member: OK,
      owner: OK,
    },
    deleted: { status: 404, code: 'INVITE_INVALID' },
  },
  {
    name: 'DELETE /budgets/:id/leave',
    method: 'DELETE',
    url: (f) => `/budgets/${f.budgetId}/leave`,
    mutates: true,
    expect: {
      member: { status: 200, check: (t, b, f) => t.same(b, { budgetId: f.budgetId, userId: f.member }) },
      owner: { status: 409, code: 'OWNER_MUST_TRANSFER' },
    },
  },
  {
    name: 'DELETE /budgets/:id/participants/:uid',
    method: 'DELETE',
    url: (f) => `/budgets/${f.budgetId}/participants/${f.other}`,
    mutates: true,
    expect: {
      member: { status: 403, code: 'NOT_OWNER' },
      owner: { status: 200, check: (t, b, f) => t.same(b, { budgetId: f.budgetId, userId: f.other }) },
    },
  },
  {
    name: 'PUT /budgets/:id/owner',
    method: 'PUT',
    url: (f) => `/budgets/${f.budgetId}/owner`,
    body: (f) => ({ userId: f.other }),
    mutates: true,
    expect: {
      member: { status: 403, code: 'NOT_OWNER' },
      owner: { status: 200, check: (t, b, f) => t.match(b, { budget: { id: f.budgetId, ownerId: f.other } }) },
    },
  },
];

const DEFAULTS: Record<Role, Expect> = {
  anon: { status: 401, code: 'UNAUTHENTICATED' },
  outsider: { status: 403, code: 'NOT_PARTICIPANT' },
  removed: { status: 403, code: 'NOT_PARTICIPANT' },
  member: { status: 200 },
  owner: { status: 200 },
};

async function call(api: Api, route: Route, f: Fixture, uid: string | null): Promise<LightMyRequestResponse> {
  return api.req(route.method, route.url(f), uid, route.body?.(f));
}

async function verify(t: Tap, res: LightMyRequestResponse, want: Expect, f: Fixture, label: string) {
  if (want.code) {
    expectError(t, res, want.status, want.code, label);
  } else {
    t.equal(res.statusCode, want.status, `${label}: ${want.status} (${res.body.slice(0, 200)})`);
  }
  if (want.check) await want.check(t, res.json() as Record<string, unknown>, f);
}

let ctx: Ctx;
t.before(async () => {
  ctx = await setup(t);
});

t.test('every route answers each kind of caller as the protocol says', async (t) => {
  const { api } = ctx;
  const shared = await fixture(api);
  for (const route of ROUTES) {
    for (const role of ROLES) {
      const f = route.mutates && role !== 'anon' ? await fixture(api) : shared;
      const want = route.expect[role] ?? DEFAULTS[role];
      const before = route.mutates ? await writeState(ctx.sql) : undefined;
      const res = await call(api, route, f, uidOf(f, role));
      await verify(t, res, want, f, `${route.name} as ${role}`);
      if (before && want.status >= 400) t.same(await writeState(ctx.sql), before, `${route.name} as ${role}: a refusal writes nothing`);
    }
  }
  // The shared fixture's membership never changed along the way.
  const people = json<{ participants: { userId: string }[] }>(
    await api.req('GET', `/budgets/${shared.budgetId}/participants`, shared.owner),
  );
  t.same(people.participants.map((p) => p.userId).sort(), [shared.member, shared.other, shared.owner].sort());
});

t.test('a deleted budget is 404 BUDGET_NOT_FOUND on every route, for everyone who was in it', async (t) => {
  const { api } = ctx;
  const f = await fixture(api);
  const [del] = await api.push(f.owner, [ev.del('budget.delete', f.budgetId, f.budgetId, 1)]);
  t.equal(del?.status, 'accepted');
  for (const route of ROUTES) {
    for (const role of ['owner', 'member', 'outsider'] as const) {
      const want = route.deleted ?? { status: 404, code: 'BUDGET_NOT_FOUND' };
      await verify(t, await call(api, route, f, f[role]), want, f, `${route.name} as ${role} of a deleted budget`);
    }
  }
  const never = { ...f, budgetId: uuid(), categoryId: uuid(), expenseId: uuid() };
  for (const route of ROUTES.filter((r) => r.url(never).includes(never.budgetId))) {
    const want = route.name.includes('join') ? { status: 404, code: 'INVITE_INVALID' } : { status: 404, code: 'BUDGET_NOT_FOUND' };
    await verify(t, await call(api, route, never, f.owner), want, never, `${route.name} of a budget that never existed`);
  }
});

t.test('every event type, pushed by each kind of caller', async (t) => {
  const { api } = ctx;
  const types = [
    'budget.edit',
    'budget.delete',
    'category.add',
    'category.edit',
    'category.delete',
    'expense.add',
    'expense.edit',
    'expense.delete',
  ] as const;
  const make = (type: (typeof types)[number], f: Fixture) => {
    switch (type) {
      case 'budget.edit':
        return ev.edit(type, f.budgetId, f.budgetId, 1, { title: 'x' });
      case 'budget.delete':
        return ev.del(type, f.budgetId, f.budgetId, 1);
      case 'category.add':
        return ev.categoryAdd(f.budgetId);
      case 'category.edit':
        return ev.edit(type, f.budgetId, f.categoryId, 1, { name: 'x' });
      case 'category.delete':
        return ev.del(type, f.budgetId, f.categoryId, 1);
      case 'expense.add':
        return ev.expenseAdd(f.budgetId, f.categoryId);
      case 'expense.edit':
        return ev.edit(type, f.budgetId, f.expenseId, 1, { amount: '2' });
      case 'expense.delete':
        return ev.del(type, f.budgetId, f.expenseId, 1);
    }
  };
  const shared = await fixture(api);
  for (const type of types) {
    const anon = await api.req('POST', '/events', null, { events: [make(type, shared)] });
    expectError(t, anon, 401, 'UNAUTHENTICATED', `${type} without a token`);
    for (const role of ['outsider', 'removed'] as const) {
      const before = await writeState(ctx.sql);
      const [r] = await api.push(shared[role], [make(type, shared)]);
      t.match(r, { status: 'rejected', error: { code: 'NOT_PARTICIPANT' } }, `${type} by the ${role}`);
      t.equal(r?.record, undefined, `${type} by the ${role}: no record leaks`);
      t.same(await writeState(ctx.sql), before, `${type} by the ${role}: nothing written`);
    }
    for (const role of ['member', 'owner'] as const) {
      const f = await fixture(api);
      const [r] = await api.push(f[role], [make(type, f)]);
      if (type === 'budget.delete' && role === 'member')
        t.match(r, { status: 'rejected', error: { code: 'NOT_OWNER' } }, `${type} by a member`);
      else t.match(r, { status: 'accepted' }, `${type} by the ${role}`);
    }
  }
  // A stale version by an outsider does not reveal the record either (authorization before the version check).
  const [stale] = await api.push(shared.outsider, [ev.edit('category.edit', shared.budgetId, shared.categoryId, 99, { name: 'x' })]);
  t.match(stale, { status: 'rejected', error: { code: 'NOT_PARTICIPANT' } });
  t.equal(stale?.record, undefined);
});

t.test("a member of budget A can neither read nor write budget B's records through A", async (t) => {
  const { api } = ctx;
  const a = await fixture(api);
  const b = await fixture(api);
  const snapshotB = () => api.req('GET', `/budgets/${b.budgetId}/snapshot`, b.owner).then((r) => r.json());
  const bBefore = await snapshotB();
  const streamBefore = (await api.stream(b.owner, b.budgetId)).events.length;

  expectError(
    t,
    await api.req('GET', `/budgets/${a.budgetId}/categories/${b.categoryId}`, a.member),
    404,
    'CATEGORY_NOT_FOUND',
    "B's category by A's path",
  );
  expectError(
    t,
    await api.req('GET', `/budgets/${a.budgetId}/expenses/${b.expenseId}`, a.member),
    404,
    'EXPENSE_NOT_FOUND',
    "B's expense by A's path",
  );
  expectError(
    t,
    await api.req('GET', `/budgets/${a.budgetId}/participants/${b.owner}`, a.member),
    404,
    'PARTICIPANT_NOT_FOUND',
    "B's owner by A's path",
  );
  expectError(
    t,
    await api.req('GET', `/budgets/${b.budgetId}/categories/${b.categoryId}`, a.member),
    403,
    'NOT_PARTICIPANT',
    "B's category by B's path",
  );
  expectError(
    t,
    await api.req('DELETE', `/budgets/${a.budgetId}/participants/${b.member}`, a.owner),
    404,
    'PARTICIPANT_NOT_FOUND',
    "A's owner removing B's member",
  );
  expectError(
    t,
    await api.req('PUT', `/budgets/${a.budgetId}/owner`, a.owner, { userId: b.member }),
    404,
    'PARTICIPANT_NOT_FOUND',
    "A's owner handing A to B's member",
  );
  expectError(
    t,
    await api.req('GET', `/budgets/${a.budgetId}/join?token=${b.token}`, a.member),
    404,
    'INVITE_INVALID',
    "B's invite used on A's path",
  );

  const writes = await api.push(
    a.member,
    [
      ev.edit('category.edit', a.budgetId, b.categoryId, 1, { name: 'hijacked' }),
      ev.del('category.delete', a.budgetId, b.categoryId, 1),
      ev.edit('expense.edit', a.budgetId, b.expenseId, 1, { amount: '666' }),
      ev.del('expense.delete', a.budgetId, b.expenseId, 1),
      ev.expenseAdd(a.budgetId, b.categoryId),
      ev.edit('expense.edit', b.budgetId, b.expenseId, 1, { amount: '666' }),
      ev.categoryAdd(b.budgetId),
    ],
    'independent',
  );
  t.same(
    writes.map((r) => r.error?.code),
    ['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'CATEGORY_NOT_FOUND', 'NOT_PARTICIPANT', 'NOT_PARTICIPANT'],
  );
  t.ok(
    writes.every((r) => r.status === 'rejected' && r.record === undefined),
    'all rejected, no record leaked',
  );
  t.same(await snapshotB(), bBefore, 'budget B is unchanged');
  t.equal((await api.stream(b.owner, b.budgetId)).events.length, streamBefore, "B's stream did not grow");
  expectError(
    t,
    await api.req('GET', `/events?budgetId=${b.budgetId}&wait=0`, a.member),
    403,
    'NOT_PARTICIPANT',
    "B's stream read by A's member",
  );
});

t.test('knowing a budget id is never enough to join it', async (t) => {
  const { api } = ctx;
  const f = await fixture(api);
  const before = await writeState(ctx.sql);
  const res = await api.req('GET', `/budgets/${f.budgetId}/join`, f.outsider);
  expectError(t, res, 400, 'VALIDATION_FAILED', 'join without a token');
  expectError(
    t,
    await api.req('GET', `/budgets/${f.budgetId}/join?token=${'x'.repeat(32)}`, f.outsider),
    404,
    'INVITE_INVALID',
    'join with a made-up token',
  );
  expectError(t, await api.req('POST', `/invites/${'y'.repeat(32)}/accept`, f.outsider), 404, 'INVITE_INVALID', 'accept a made-up token');
  expectError(
    t,
    await api.req('POST', `/budgets/${f.budgetId}/invites`, f.outsider, {}),
    403,
    'NOT_PARTICIPANT',
    'an outsider cannot mint an invite',
  );
  t.same(await writeState(ctx.sql), before, 'nothing was written');
  expectError(t, await api.req('GET', `/budgets/${f.budgetId}`, f.outsider), 403, 'NOT_PARTICIPANT', 'still an outsider');
});
