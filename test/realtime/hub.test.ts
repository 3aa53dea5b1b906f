/**
 * The hub on its own (src/realtime/hub.ts), with subscribers that are plain objects: a throw while
 * sending does not leave a budget stuck, and local commits are sent from memory only when they
 * cover every due cursor.
 */
import t, { type Test } from 'tap';
import pino from 'pino';
import { Metrics } from '../../src/metrics.js';
import type { StreamEvent } from '@budget-sync/protocol';
import { Hub } from '../../src/realtime/hub.js';
import type { Subscriber } from '../../src/realtime/subscription.js';
import type { CommittedPointer } from '../../src/sync/changes.js';
import { Processor } from '../../src/sync/processor.js';
import { ev } from '../helpers/api.js';
import { setup } from '../sync/fixtures/support.js';
import { eventually } from './fixtures/client.js';

const { api, sql } = await setup(t);

/** A subscriber that records what it is handed; `failOnce` makes its first delivery throw. */
class Recorder implements Subscriber {
  readonly got: number[] = [];
  constructor(
    readonly budgetId: string,
    public cursor: number,
    private failOnce = false,
    readonly userId = 'owner',
  ) {}
  ready = () => true;
  deliver(page: StreamEvent[]): 'keep' {
    if (this.failOnce) {
      this.failOnce = false;
      throw new Error('send failed');
    }
    for (const e of page) {
      if (e.sequence <= this.cursor) continue;
      this.got.push(e.sequence);
      this.cursor = e.sequence;
    }
    return 'keep';
  }
  end(): void {}
}

function hub(t: Test, safetyPollMs = 100) {
  const metrics = new Metrics();
  const h = new Hub(sql, { safetyPollMs, publish: () => {}, metrics, log: pino({ level: 'silent' }) });
  t.teardown(() => h.close());
  const count = async (c: 'logQueries' | 'memoryPages') => (await metrics[c].get()).values[0]?.value ?? 0;
  return { h, count };
}

t.test('a delivery that throws does not leave its budget stuck: it is read again', async (t) => {
  const budgetId = await api.createBudget('owner');
  const { h } = hub(t);
  h.startSafetyPoll();
  const flaky = new Recorder(budgetId, 0, true);
  h.add(flaky);
  h.wake(budgetId, 2);
  await eventually(() => flaky.got.length === 2, 10_000, 'the next read delivered what the failed one did not');
  t.same(flaky.got, [1, 2]);
  await api.push('owner', [ev.categoryAdd(budgetId)]);
  h.wake(budgetId, 3);
  await eventually(() => flaky.got.length === 3, 10_000, 'and the budget goes on');
});

t.test('local commits are sent from memory only when they cover every due cursor', async (t) => {
  const budgetId = await api.createBudget('owner');
  const { h, count } = hub(t, 60_000);
  const processor = new Processor(sql, h);
  const caughtUp = new Recorder(budgetId, 2);
  h.add(caughtUp);
  const before = { q: await count('logQueries'), m: await count('memoryPages') };
  await processor.push([ev.categoryAdd(budgetId)], 'owner');
  await eventually(() => caughtUp.got.length === 1, 10_000, 'delivered');
  t.equal((await count('memoryPages')) - before.m, 1, 'from memory');
  t.equal((await count('logQueries')) - before.q, 0, 'no query');

  // A subscriber further behind than the commits kept: the log is read, and both get the rest.
  const behind = new Recorder(budgetId, 0);
  h.add(behind);
  await processor.push([ev.categoryAdd(budgetId)], 'owner');
  await eventually(() => behind.got.length === 4 && caughtUp.got.length === 2, 10_000, 'both delivered');
  t.same(behind.got, [1, 2, 3, 4]);
  t.same(caughtUp.got, [3, 4]);
  t.equal((await count('logQueries')) - before.q, 1, 'one query for the subscriber behind');

  // A commit of another instance in between breaks the run: its events are read from the log.
  const other = new Processor(sql, { committed: () => {} });
  const [remote] = await other.push([ev.categoryAdd(budgetId)], 'owner');
  await processor.push([ev.categoryAdd(budgetId)], 'owner');
  h.changed([{ budgetId, sequence: remote?.sequence as number } satisfies CommittedPointer], []);
  await eventually(() => caughtUp.got.length === 4 && behind.got.length === 6, 10_000, 'all delivered');
  t.same(caughtUp.got, [3, 4, 5, 6], 'in order, no gap, no repeat');
});
