/**
 * The life of an invite: who may use it after its creator leaves or is removed, who a removal keeps
 * out, listing and revoking, and that every dead token answers exactly like one that never existed.
 */
import t, { type Test } from 'tap';
import type { InviteSummary } from '@budget-sync/protocol';
import { type Ctx, expectError, json, keys, setup } from './fixtures/support.js';

let ctx: Ctx;
t.before(async () => {
  ctx = await setup(t);
});

const invite = async (budgetId: string, uid: string, body: Record<string, unknown> = {}) => {
  const res = await ctx.api.req('POST', `/budgets/${budgetId}/invites`, uid, body);
  if (res.statusCode !== 201) throw new Error(`invite: ${res.statusCode} ${res.body}`);
  return json<{ token: string; expiresAt: number }>(res).token;
};
const accept = (token: string, uid: string) => ctx.api.req('POST', `/invites/${token}/accept`, uid);
const list = async (budgetId: string, uid: string) => {
  const res = await ctx.api.req('GET', `/budgets/${budgetId}/invites`, uid);
  if (res.statusCode !== 200) throw new Error(`list: ${res.statusCode} ${res.body}`);
  return json<{ invites: InviteSummary[] }>(res).invites;
};
/** A budget with members, joined through an invite that is then revoked (so tests list only their own). */
const budgetWith = async (owner: string, ...members: string[]) => {
  const budgetId = await ctx.api.createBudget(owner);
  if (members.length > 0) await ctx.api.addMembers(budgetId, owner, ...members);
  await ctx.sql`UPDATE invites SET revoked_at = 1 WHERE budget_id = ${budgetId}`;
  return budgetId;
};
const participants = async (budgetId: string) =>
  (await ctx.sql<{ user_id: string }[]>`SELECT user_id FROM participants WHERE budget_id = ${budgetId} ORDER BY user_id`).map(
    (r) => r.user_id,
  );
/** The body an unknown token gets: every dead token must get exactly this. */
const unknownAnswer = async (t: Test, uid: string) => {
  const res = await accept('A'.repeat(32), uid);
  t.equal(res.statusCode, 404);
  return res.body;
};

t.test('a removed member cannot walk back in with the invite they made before the removal', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('alice');
  await api.addMembers(budgetId, 'alice', 'mallory');
  const own = await invite(budgetId, 'mallory', { expiresInSeconds: 90 * 86400 });
  const owners = await invite(budgetId, 'alice');
  t.equal((await api.req('DELETE', `/budgets/${budgetId}/participants/mallory`, 'alice')).statusCode, 200);

  const unknown = await unknownAnswer(t, 'mallory');
  for (const [token, label] of [
    [own, 'her own invite'],
    [owners, "the owner's invite made before the removal"],
  ] as const) {
    const res = await accept(token, 'mallory');
    expectError(t, res, 404, 'INVITE_INVALID', label);
    t.equal(res.body, unknown, `${label}: the same answer as an unknown token`);
    const join = await api.req('GET', `/budgets/${budgetId}/join?token=${token}`, 'mallory');
    t.equal(join.body, unknown, `${label} by GET /join: the same answer`);
  }
  t.same(await participants(budgetId), ['alice'], 'mallory stays out');

  // Her invite died with her membership: nobody else can use it either.
  expectError(t, await accept(own, 'friend'), 404, 'INVITE_INVALID', "the removed member's invite for someone else");
  // The owner's old invite still works for anyone else.
  t.equal((await accept(owners, 'bob')).statusCode, 200, "the owner's old invite still admits others");
});

t.test("an invite the owner makes after the removal lets the removed user back; a member's does not", async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('olga');
  await api.addMembers(budgetId, 'olga', 'pete', 'bob');
  t.equal((await api.req('DELETE', `/budgets/${budgetId}/participants/pete`, 'olga')).statusCode, 200);

  const bobs = await invite(budgetId, 'bob');
  expectError(t, await accept(bobs, 'pete'), 404, 'INVITE_INVALID', "a member's invite made after the removal");
  t.equal((await accept(bobs, 'carl')).statusCode, 200, "the member's invite admits anyone the owner did not remove");

  const olgas = await invite(budgetId, 'olga');
  const back = await accept(olgas, 'pete');
  t.equal(back.statusCode, 200, "the owner's later invite readmits pete");
  t.same(await participants(budgetId), ['bob', 'carl', 'olga', 'pete']);

  // Removed again: the invite that let him back is from before this removal now.
  t.equal((await api.req('DELETE', `/budgets/${budgetId}/participants/pete`, 'olga')).statusCode, 200);
  expectError(t, await accept(olgas, 'pete'), 404, 'INVITE_INVALID', 'removed a second time');

  // The removal binds the budget, not a person: a new owner's invite readmits.
  t.equal((await api.req('PUT', `/budgets/${budgetId}/owner`, 'olga', { userId: 'bob' })).statusCode, 200);
  expectError(t, await accept(olgas, 'pete'), 404, 'INVITE_INVALID', "the former owner's invite from before");
  t.equal((await accept(await invite(budgetId, 'bob'), 'pete')).statusCode, 200, "the new owner's invite readmits");
});

t.test('invites of a member who leaves stop working; leaving is no removal', async (t) => {
  const { api } = ctx;
  const budgetId = await budgetWith('hana', 'ivo');
  const ivos = await invite(budgetId, 'ivo');
  const hanas = await invite(budgetId, 'hana');
  t.equal((await api.req('DELETE', `/budgets/${budgetId}/leave`, 'ivo')).statusCode, 200);
  expectError(t, await accept(ivos, 'jan'), 404, 'INVITE_INVALID', "the leaver's invite");
  t.same(
    (await list(budgetId, 'hana')).map((i) => i.createdBy),
    ['hana'],
    "the leaver's invite is no longer listed",
  );
  t.equal((await accept(hanas, 'ivo')).statusCode, 200, 'who left by themselves may come back with an older invite');
});

t.test('GET /budgets/:id/invites: the owner sees every live invite, a member their own, never a token', async (t) => {
  const { api, sql } = ctx;
  const budgetId = await budgetWith('kim', 'lou', 'max');
  const before = Date.now();
  await invite(budgetId, 'kim', { maxUses: 3, expiresInSeconds: 3600 });
  await invite(budgetId, 'lou');
  const used = await invite(budgetId, 'lou', { maxUses: 1 });
  const expired = await invite(budgetId, 'kim');
  await invite(budgetId, 'max');
  t.equal((await accept(used, 'nia')).statusCode, 200);
  await sql`UPDATE invites SET expires_at = ${Date.now() - 1} WHERE token_hash = sha256(${expired}::bytea)`;

  const all = await list(budgetId, 'kim');
  t.same(
    all.map((i) => i.createdBy),
    ['kim', 'lou', 'max'],
    'live invites only (not used up, not expired), oldest first',
  );
  for (const i of all) {
    t.same(keys(i), ['createdAt', 'createdBy', 'expiresAt', 'id', 'maxUses', 'uses'], 'exactly these fields');
    t.match(i.id, /^[0-9a-f-]{36}$/);
    t.ok(i.createdAt >= before && i.createdAt <= Date.now());
  }
  t.match(all[0], { maxUses: 3, uses: 0 });
  t.ok(Math.abs((all[0]?.expiresAt ?? 0) - (Date.now() + 3600_000)) < 60_000);
  t.match(all[1], { maxUses: null, uses: 0 });
  const raw = (await api.req('GET', `/budgets/${budgetId}/invites`, 'kim')).body;
  t.notMatch(raw, /token/i, 'no token, no hash');

  t.same(
    (await list(budgetId, 'lou')).map((i) => i.createdBy),
    ['lou'],
    'a member sees their own',
  );
  t.same(await list(budgetId, 'nia'), [], 'a member without invites sees none');
  expectError(t, await api.req('GET', `/budgets/${budgetId}/invites`, 'stranger'), 403, 'NOT_PARTICIPANT');
  expectError(t, await api.req('GET', '/budgets/00000000-0000-4000-8000-000000000000/invites', 'kim'), 404, 'BUDGET_NOT_FOUND');
  expectError(t, await api.req('GET', `/budgets/${budgetId}/invites`, null), 401, 'UNAUTHENTICATED');
});

t.test('DELETE /budgets/:id/invites/:inviteId: the owner revokes any, a member their own; the token is then dead', async (t) => {
  const { api } = ctx;
  const budgetId = await budgetWith('ona', 'pia', 'quin');
  const other = await api.createBudget('ona');
  const piasToken = await invite(budgetId, 'pia');
  const quinsToken = await invite(budgetId, 'quin');
  const onasToken = await invite(budgetId, 'ona');
  const ids = Object.fromEntries((await list(budgetId, 'ona')).map((i) => [i.createdBy, i.id])) as Record<string, string>;

  expectError(
    t,
    await api.req('DELETE', `/budgets/${budgetId}/invites/${ids.ona}`, 'pia'),
    403,
    'NOT_OWNER',
    "a member, the owner's invite",
  );
  expectError(t, await api.req('DELETE', `/budgets/${budgetId}/invites/${ids.quin}`, 'pia'), 403, 'NOT_OWNER', "a member, another's");
  expectError(t, await api.req('DELETE', `/budgets/${budgetId}/invites/${ids.pia}`, 'stranger'), 403, 'NOT_PARTICIPANT');
  expectError(t, await api.req('DELETE', `/budgets/${other}/invites/${ids.pia}`, 'ona'), 404, 'INVITE_NOT_FOUND', 'under another budget');
  expectError(
    t,
    await api.req('DELETE', `/budgets/${budgetId}/invites/00000000-0000-4000-8000-000000000000`, 'ona'),
    404,
    'INVITE_NOT_FOUND',
  );
  expectError(t, await api.req('DELETE', `/budgets/${budgetId}/invites/nope`, 'ona'), 400, 'VALIDATION_FAILED');

  const own = await api.req('DELETE', `/budgets/${budgetId}/invites/${ids.pia}`, 'pia');
  t.equal(own.statusCode, 204, 'a member revokes their own');
  t.equal(own.body, '');
  t.equal((await api.req('DELETE', `/budgets/${budgetId}/invites/${ids.quin}`, 'ona')).statusCode, 204, 'the owner revokes any');
  t.equal((await api.req('DELETE', `/budgets/${budgetId}/invites/${ids.quin}`, 'ona')).statusCode, 204, 'again: still 204');
  t.same(
    (await list(budgetId, 'ona')).map((i) => i.createdBy),
    ['ona'],
  );

  const unknown = await unknownAnswer(t, 'rex');
  for (const token of [piasToken, quinsToken]) {
    const res = await accept(token, 'rex');
    t.equal(res.statusCode, 404);
    t.equal(res.body, unknown, 'a revoked token answers exactly like an unknown one');
  }
  t.equal((await accept(onasToken, 'rex')).statusCode, 200, 'the others still work');
});

t.test('an expired, a used-up and a revoked token answer exactly like an unknown one; a member retrying still gets 200', async (t) => {
  const { api, sql } = ctx;
  const budgetId = await api.createBudget('sam');
  const expired = await invite(budgetId, 'sam');
  const usedUp = await invite(budgetId, 'sam', { maxUses: 1 });
  const revoked = await invite(budgetId, 'sam');
  t.equal((await accept(usedUp, 'tia')).statusCode, 200);
  await sql`UPDATE invites SET expires_at = ${Date.now() - 1} WHERE token_hash = sha256(${expired}::bytea)`;
  const revokedId = (await list(budgetId, 'sam')).find((i) => i.maxUses === null && i.expiresAt > Date.now())?.id;
  t.equal((await api.req('DELETE', `/budgets/${budgetId}/invites/${revokedId}`, 'sam')).statusCode, 204);

  const unknown = await unknownAnswer(t, 'ulf');
  for (const [token, label] of [
    [expired, 'expired'],
    [usedUp, 'used up'],
    [revoked, 'revoked'],
  ] as const) {
    const res = await accept(token, 'ulf');
    t.equal(res.statusCode, 404, label);
    t.equal(res.body, unknown, `${label}: the same status, code and message as an unknown token`);
  }
  t.equal((await accept(usedUp, 'tia')).statusCode, 200, 'the member it admitted retries the join: the same no-op');
});

t.test('the OpenAPI document describes both invite routes and their answers', async (t) => {
  const doc = json<{
    paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
    components: { schemas: Record<string, unknown> };
  }>(await ctx.api.req('GET', '/openapi.json', null));
  const listed = doc.paths['/budgets/{budgetId}/invites']?.get?.responses['200']?.content?.['application/json']?.schema;
  t.equal(listed?.$ref, '#/components/schemas/InviteList', 'GET answers the InviteList component');
  t.match(doc.components.schemas.InviteList, { properties: { invites: { type: 'array' } } }, 'GET lists invites');
  t.ok(doc.paths['/budgets/{budgetId}/invites/{inviteId}']?.delete?.responses['204'], 'DELETE answers 204');
  t.ok(doc.paths['/budgets/{budgetId}/invites']?.post?.responses['201'], 'POST answers 201');
});
