/**
 * A removal racing the removed user's own accepts, as real concurrent HTTP requests on a real port:
 * whatever the interleaving, the removed user ends up outside, and the stream ends with their
 * `participant.remove`.
 */
import t from 'tap';
import { Rest, listening } from '../realtime/fixtures/harness.js';

const server = await listening(t);
const rest = new Rest(server.base);
const sql = server.services.sql;

const ROUNDS = 12;
const ACCEPTS_PER_TOKEN = 4;

t.test('a removal and concurrent accepts by the removed user never let them back in', async (t) => {
  const statuses = new Map<number, number>();
  for (let round = 0; round < ROUNDS; round++) {
    const budgetId = await rest.createBudget('alice');
    await rest.addMembers(budgetId, 'alice', 'mallory');
    const tokens: string[] = [];
    for (const uid of ['mallory', 'alice']) {
      const res = await rest.req('POST', `/budgets/${budgetId}/invites`, uid, {});
      tokens.push(res.json.token as string);
    }
    const accepts = () =>
      tokens.flatMap((token) => Array.from({ length: ACCEPTS_PER_TOKEN }, () => rest.req('POST', `/invites/${token}/accept`, 'mallory')));
    const early = accepts();
    const removal = rest.req('DELETE', `/budgets/${budgetId}/participants/mallory`, 'alice');
    const late = accepts();
    const [removed, ...answers] = await Promise.all([removal, ...early, ...late]);
    t.equal(removed?.status, 200, `round ${round}: the removal succeeds`);
    for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    // And once everything settled, nothing gets her in either.
    for (const token of tokens) t.equal((await rest.req('POST', `/invites/${token}/accept`, 'mallory')).status, 404);

    const [member] = await sql`SELECT 1 FROM participants WHERE budget_id = ${budgetId} AND user_id = 'mallory'`;
    t.notOk(member, `round ${round}: mallory is not a participant`);
    const events = await sql<{ event_type: string }[]>`
      SELECT event_type FROM events WHERE budget_id = ${budgetId} AND record_id = 'mallory' ORDER BY sequence`;
    t.same(
      events.map((e) => e.event_type),
      ['participant.add', 'participant.remove'],
      `round ${round}: one join, one removal, nothing after`,
    );
  }
  t.same(
    [...statuses.keys()].sort().filter((s) => s !== 200 && s !== 404),
    [],
    `every accept answered 200 (before the removal) or 404 (after): ${JSON.stringify([...statuses])}`,
  );
});
