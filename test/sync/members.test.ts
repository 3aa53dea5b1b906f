/** Invites, leaving, ownership hand-over and the user's own record: who may act in a budget. */
import t from 'tap';
import { ev } from '../helpers/api.js';
import { token } from '../helpers/server.js';
import { type Ctx, expectError, fullStream, json, keys, setup, stable, writeState } from './fixtures/support.js';

let ctx: Ctx;
t.before(async () => {
  ctx = await setup(t);
});

t.test('invites: a token joins until it expires or is used up, joining twice is a no-op, and it works only for its budget', async (t) => {
  const { api, sql } = ctx;
  const budgetId = await api.createBudget('host');
  const other = await api.createBudget('host');
  const created = await api.req('POST', `/budgets/${budgetId}/invites`, 'host', {});
  t.equal(created.statusCode, 201);
  const inv = json<{ token: string; expiresAt: number }>(created);
  t.same(keys(inv), ['expiresAt', 'token']);
  t.ok(Math.abs(inv.expiresAt - (Date.now() + 7 * 86400_000)) < 60_000, 'the default lifetime is 7 days');
  const [stored] = await sql<{ token_hash: Buffer }[]>`SELECT token_hash FROM invites WHERE budget_id = ${budgetId}`;
  t.not(stored?.token_hash.toString('utf8'), inv.token, 'the token itself is not stored');

  const first = await api.req('GET', `/budgets/${budgetId}/join?token=${inv.token}`, 'guest');
  t.equal(first.statusCode, 200);
  const firstBody = json<{ budget: { id: string }; participant: { userId: string; role: string } }>(first);
  t.same(keys(firstBody), ['budget', 'participant']);
  t.match(firstBody, { budget: { id: budgetId }, participant: { userId: 'guest', role: 'member', budgetId } });
  const before = await writeState(sql);
  const again = await api.req('POST', `/invites/${inv.token}/accept`, 'guest');
  t.equal(again.statusCode, 200);
  t.equal(stable(again.json()), stable(firstBody), 'joining again answers the same');
  t.same(await writeState(sql), before, 'and writes nothing: no second participant.add');
  const adds = (await fullStream(api, 'host', budgetId)).filter((e) => e.eventType === 'participant.add');
  t.same(
    adds.map((e) => [e.recordId, e.actorId]),
    [
      ['host', 'host'],
      ['guest', 'guest'],
    ],
  );
  t.same(adds[1]?.record, firstBody.participant, 'the stream carries the new participant');

  expectError(
    t,
    await api.req('GET', `/budgets/${other}/join?token=${inv.token}`, 'stranger'),
    404,
    'INVITE_INVALID',
    "budget A's token on budget B's path",
  );
  expectError(t, await api.req('GET', `/budgets/${other}/participants`, 'stranger'), 403, 'NOT_PARTICIPANT', 'the stranger did not join B');

  const short = json<{ token: string; expiresAt: number }>(
    await api.req('POST', `/budgets/${budgetId}/invites`, 'guest', { expiresInSeconds: 3600, maxUses: 2 }),
  );
  t.ok(Math.abs(short.expiresAt - (Date.now() + 3600_000)) < 60_000, 'expiresInSeconds sets the lifetime; any member may invite');
  t.equal((await api.req('POST', `/invites/${short.token}/accept`, 'u-a')).statusCode, 200);
  t.equal((await api.req('POST', `/invites/${short.token}/accept`, 'u-b')).statusCode, 200);
  expectError(t, await api.req('POST', `/invites/${short.token}/accept`, 'u-c'), 404, 'INVITE_INVALID', 'a used-up invite');
  t.equal(
    (await api.req('POST', `/invites/${short.token}/accept`, 'u-a')).statusCode,
    200,
    'a member re-joining with a used-up invite is still the same no-op',
  );

  await sql`UPDATE invites SET expires_at = ${Date.now() - 1} WHERE budget_id = ${budgetId}`;
  expectError(t, await api.req('POST', `/invites/${inv.token}/accept`, 'late'), 404, 'INVITE_INVALID', 'an expired invite');
  expectError(
    t,
    await api.req('GET', `/budgets/${budgetId}/join?token=${inv.token}`, 'late'),
    404,
    'INVITE_INVALID',
    'an expired invite by GET',
  );
});

t.test('leaving: a member leaves with participant.remove; the owner must hand over first; the last owner deletes the budget', async (t) => {
  const { api, sql } = ctx;
  const budgetId = await api.createBudget('lead');
  await api.addMembers(budgetId, 'lead', 'crew1', 'crew2');
  const left = await api.req('DELETE', `/budgets/${budgetId}/leave`, 'crew1');
  t.equal(left.statusCode, 200);
  t.same(left.json(), { budgetId, userId: 'crew1' });
  const removeEvent = (await fullStream(api, 'lead', budgetId)).at(-1);
  t.match(removeEvent, { eventType: 'participant.remove', recordId: 'crew1', actorId: 'crew1', record: null, version: null });
  expectError(t, await api.req('GET', `/budgets/${budgetId}`, 'crew1'), 403, 'NOT_PARTICIPANT', 'after leaving');
  expectError(t, await api.req('DELETE', `/budgets/${budgetId}/leave`, 'crew1'), 403, 'NOT_PARTICIPANT', 'leaving twice');
  t.notOk(
    json<{ budgets: { id: string }[] }>(await api.req('GET', '/budgets', 'crew1')).budgets.some((b) => b.id === budgetId),
    'no longer listed',
  );

  expectError(t, await api.req('DELETE', `/budgets/${budgetId}/leave`, 'lead'), 409, 'OWNER_MUST_TRANSFER', 'the owner with a member left');
  const removed = await api.req('DELETE', `/budgets/${budgetId}/participants/crew2`, 'lead');
  t.same(removed.json(), { budgetId, userId: 'crew2' });
  t.match((await fullStream(api, 'lead', budgetId)).at(-1), { eventType: 'participant.remove', recordId: 'crew2', actorId: 'lead' });
  expectError(
    t,
    await api.req('DELETE', `/budgets/${budgetId}/participants/crew2`, 'lead'),
    404,
    'PARTICIPANT_NOT_FOUND',
    'removing someone not there',
  );

  const last = await api.req('DELETE', `/budgets/${budgetId}/leave`, 'lead');
  t.same(last.json(), { budgetId, userId: 'lead' });
  expectError(t, await api.req('GET', `/budgets/${budgetId}`, 'lead'), 404, 'BUDGET_NOT_FOUND', 'the budget of the last owner is deleted');
  const tail = await sql<
    { event_type: string; sequence: number }[]
  >`SELECT event_type, sequence FROM events WHERE budget_id = ${budgetId} ORDER BY sequence DESC LIMIT 2`;
  t.same(
    tail.map((r) => r.event_type),
    ['budget.delete', 'participant.remove'],
    'the stream ends with participant.remove and budget.delete',
  );
  const [head] = await sql<{ last_sequence: number }[]>`SELECT last_sequence FROM budgets WHERE id = ${budgetId}`;
  t.equal(head?.last_sequence, tail[0]?.sequence);
});

t.test('ownership hand-over writes participant.role for both and moves the owner-only rights', async (t) => {
  const { api } = ctx;
  const budgetId = await api.createBudget('king');
  await api.addMembers(budgetId, 'king', 'heir', 'page');
  const before = (await fullStream(api, 'king', budgetId)).length;
  const self = await api.req('PUT', `/budgets/${budgetId}/owner`, 'king', { userId: 'king' });
  t.equal(self.statusCode, 200, 'handing over to oneself is a no-op');
  t.equal((await fullStream(api, 'king', budgetId)).length, before, 'and writes nothing');
  expectError(
    t,
    await api.req('PUT', `/budgets/${budgetId}/owner`, 'king', { userId: 'nobody' }),
    404,
    'PARTICIPANT_NOT_FOUND',
    'to a non-participant',
  );

  const res = await api.req('PUT', `/budgets/${budgetId}/owner`, 'king', { userId: 'heir' });
  t.equal(res.statusCode, 200);
  t.same(keys(res.json()), ['budget']);
  t.match(res.json(), { budget: { id: budgetId, ownerId: 'heir', createdBy: 'king', version: 1 } });
  const roles = (await fullStream(api, 'page', budgetId)).slice(before);
  t.same(
    roles.map((e) => [e.eventType, e.recordId, e.actorId, (e.record as { role: string }).role]),
    [
      ['participant.role', 'king', 'king', 'member'],
      ['participant.role', 'heir', 'king', 'owner'],
    ],
  );
  t.same(
    json<{ participants: { userId: string; role: string }[] }>(await api.req('GET', `/budgets/${budgetId}/participants`, 'page'))
      .participants.map((p) => [p.userId, p.role])
      .sort(),
    [
      ['heir', 'owner'],
      ['king', 'member'],
      ['page', 'member'],
    ],
  );
  expectError(
    t,
    await api.req('PUT', `/budgets/${budgetId}/owner`, 'king', { userId: 'king' }),
    403,
    'NOT_OWNER',
    'the old owner lost the right',
  );
  t.match((await api.push('king', [ev.del('budget.delete', budgetId, budgetId, 1)]))[0], {
    status: 'rejected',
    error: { code: 'NOT_OWNER' },
  });
  t.equal((await api.req('DELETE', `/budgets/${budgetId}/leave`, 'king')).statusCode, 200, 'the old owner may leave now');
  t.match(
    (await api.push('heir', [ev.del('budget.delete', budgetId, budgetId, 1)]))[0],
    { status: 'accepted' },
    'the new owner may delete',
  );
});

t.test('GET, PUT and DELETE /user, and public profiles without the email', async (t) => {
  const { api, server } = ctx;
  const headers = { authorization: `Bearer ${token('ada', { email: 'ada@example.com', name: 'Ada King Lovelace' })}` };
  const me = await server.app.inject({ method: 'GET', url: '/user', headers });
  t.equal(me.statusCode, 200);
  t.same(
    me.json(),
    { id: 'ada', email: 'ada@example.com', firstName: 'Ada', lastName: 'King Lovelace', photo: null },
    'filled from the token claims',
  );

  const put = await server.app.inject({ method: 'PUT', url: '/user', headers, payload: { firstName: 'Augusta', lastName: null } });
  t.same(
    put.json(),
    { id: 'ada', email: 'ada@example.com', firstName: 'Augusta', lastName: null, photo: null },
    'fields sent change, null clears, the rest stays',
  );
  t.same(json(await server.app.inject({ method: 'GET', url: '/user', headers })), put.json());

  const profile = await api.req('GET', '/profiles/ada', 'someone');
  t.equal(profile.statusCode, 200);
  t.same(profile.json(), { id: 'ada', firstName: 'Augusta', lastName: null, photo: null }, 'a public profile has no email');
  expectError(t, await api.req('GET', '/profiles/ghost', 'someone'), 404, 'USER_NOT_FOUND', 'an unknown user');
  expectError(t, await api.req('GET', '/profiles/ada', null), 401, 'UNAUTHENTICATED', 'profiles need a token');

  // Participants show the names of the users table.
  const budgetId = await api.createBudget('ada');
  t.match(json(await api.req('GET', `/budgets/${budgetId}/participants/ada`, 'ada')), {
    participant: { userId: 'ada', firstName: 'Augusta', lastName: null, photo: null },
  });
});

t.test('DELETE /user leaves every budget: ownership passes on, a budget where the user was alone is deleted', async (t) => {
  const { api, sql } = ctx;
  const shared = await api.createBudget('quitter');
  await api.addMembers(shared, 'quitter', 'second', 'third');
  const alone = await api.createBudget('quitter');
  const theirs = await api.createBudget('friend');
  await api.addMembers(theirs, 'friend', 'quitter');
  await api.req('PUT', '/user', 'quitter', { firstName: 'Q' });

  const res = await api.req('DELETE', '/user', 'quitter');
  t.equal(res.statusCode, 204);
  const s = json<{ budget: { ownerId: string }; participants: { userId: string; role: string }[] }>(
    await api.req('GET', `/budgets/${shared}/snapshot`, 'second'),
  );
  t.equal(s.budget.ownerId, 'second', 'the longest-standing member owns it now');
  t.same(
    s.participants.map((p) => [p.userId, p.role]),
    [
      ['second', 'owner'],
      ['third', 'member'],
    ],
  );
  const tail = (await fullStream(api, 'third', shared)).slice(-3).map((e) => [e.eventType, e.recordId]);
  t.same(tail, [
    ['participant.role', 'quitter'],
    ['participant.role', 'second'],
    ['participant.remove', 'quitter'],
  ]);
  expectError(t, await api.req('GET', `/budgets/${alone}`, 'second'), 404, 'BUDGET_NOT_FOUND', 'the budget the user was alone in is gone');
  t.same(
    json<{ participants: { userId: string }[] }>(await api.req('GET', `/budgets/${theirs}/participants`, 'friend')).participants.map(
      (p) => p.userId,
    ),
    ['friend'],
  );
  expectError(t, await api.req('GET', '/profiles/quitter', 'friend'), 404, 'USER_NOT_FOUND', 'the profile is gone');
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM participants WHERE user_id = 'quitter'`;
  t.equal(row?.n, 0, 'no participation is left');
});
