/**
 * SocketSubscription without sockets: every subscriber at the same cursor gets the very same
 * `events` message (serialized once per page, not per socket), chunks stay within their limits,
 * and a revocation ends only its own user's chunk.
 */
import t from 'tap';
import type { StreamEvent } from '@budget-sync/protocol';
import type { RevokeReason } from '@budget-sync/protocol';
import { type EventsMessage, SocketSubscription, type SubscriptionSocket } from '../../src/realtime/subscription.js';
import { uuid } from '../helpers/server.js';

const budgetId = uuid();

function event(sequence: number, over: Partial<StreamEvent> = {}): StreamEvent {
  return {
    sequence,
    eventId: uuid(),
    eventType: 'category.add',
    budgetId,
    recordId: uuid(),
    actorId: 'writer',
    when: 1000 + sequence,
    serverTime: 2000 + sequence,
    version: 1,
    record: null,
    ...over,
  } as StreamEvent;
}

class FakeSocket implements SubscriptionSocket {
  sent: EventsMessage[] = [];
  revokedWith: RevokeReason | undefined;
  gaps = 0;
  open = true;
  constructor(readonly userId: string) {}
  canSend(): boolean {
    return this.open;
  }
  sendEvents(message: EventsMessage): void {
    this.sent.push(message);
  }
  revoked(_sub: SocketSubscription, reason: RevokeReason): void {
    this.revokedWith = reason;
  }
  reportGap(): void {
    this.gaps++;
  }
}

const decode = (m: EventsMessage) => JSON.parse(m.data) as { type: string; budgetId: string; events: StreamEvent[] };

t.test('subscribers at the same cursor share one message; others get theirs from the same page', async (t) => {
  const page = Array.from({ length: 5 }, (_, i) => event(i + 1));
  const [a, b, c] = [new FakeSocket('u1'), new FakeSocket('u2'), new FakeSocket('u3')];
  const subs = [new SocketSubscription(a, budgetId, 0), new SocketSubscription(b, budgetId, 0), new SocketSubscription(c, budgetId, 3)];
  for (const s of subs) t.equal(s.deliver(page), 'keep');
  t.equal(a.sent.length, 1);
  t.equal(a.sent[0], b.sent[0], 'the same object, serialized once');
  t.same(decode(a.sent[0] as EventsMessage), { type: 'events', budgetId, events: page });
  t.same(
    decode(c.sent[0] as EventsMessage).events.map((e) => e.sequence),
    [4, 5],
  );
  t.same(
    subs.map((s) => s.cursor),
    [5, 5, 5],
  );
  t.equal(a.sent[0]?.oldestServerTime, 2001);
  t.equal(c.sent[0]?.count, 2);
});

t.test('a page is split into messages of at most 100 events, in order, without gaps', async (t) => {
  const page = Array.from({ length: 250 }, (_, i) => event(i + 1));
  const s = new FakeSocket('u1');
  const sub = new SocketSubscription(s, budgetId, 0);
  sub.deliver(page);
  t.same(
    s.sent.map((m) => m.count),
    [100, 100, 50],
  );
  t.same(
    s.sent.flatMap((m) => decode(m).events.map((e) => e.sequence)),
    page.map((e) => e.sequence),
  );
  t.equal(sub.cursor, 250);
});

t.test("a participant.remove ends its user's subscription only; a budget.delete ends everyone's", async (t) => {
  const page = [
    event(1),
    event(2, { eventType: 'participant.remove', recordId: 'u1', actorId: 'writer' }),
    event(3),
    event(4, { eventType: 'budget.delete' }),
    event(5),
  ];
  const [removed, other] = [new FakeSocket('u1'), new FakeSocket('u2')];
  const r = new SocketSubscription(removed, budgetId, 0);
  const o = new SocketSubscription(other, budgetId, 0);
  t.equal(r.deliver(page), 'done');
  t.equal(o.deliver(page), 'done');
  t.same(
    removed.sent.flatMap((m) => decode(m).events.map((e) => e.sequence)),
    [1, 2],
  );
  t.equal(removed.revokedWith, 'removed');
  t.same(
    other.sent.flatMap((m) => decode(m).events.map((e) => e.sequence)),
    [1, 2, 3, 4],
  );
  t.equal(other.revokedWith, 'deleted');
  t.equal(r.cursor, 2);
  t.equal(o.cursor, 4);
});

t.test('a socket that cannot take more stops after the message that filled it, its cursor where it stopped', async (t) => {
  const page = Array.from({ length: 150 }, (_, i) => event(i + 1));
  const s = new FakeSocket('u1');
  const sub = new SocketSubscription(s, budgetId, 0);
  s.canSend = () => s.sent.length === 0;
  sub.deliver(page);
  t.equal(s.sent.length, 1);
  t.equal(sub.cursor, 100);
  s.canSend = () => true;
  sub.deliver(page);
  t.same(
    s.sent.map((m) => m.count),
    [100, 50],
  );
  t.equal(sub.cursor, 150);
});

t.test('a page that starts after the cursor is a gap: reported, nothing sent, cursor kept', async (t) => {
  const s = new FakeSocket('u1');
  const sub = new SocketSubscription(s, budgetId, 1);
  sub.deliver([event(3), event(4)]);
  t.equal(s.gaps, 1);
  t.equal(s.sent.length, 0);
  t.equal(sub.cursor, 1);
});
