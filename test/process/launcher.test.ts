/**
 * stopOnSignals (src/launcher.ts), in-process: signals are emitted on `process` and `exit` is
 * recorded instead of ending the test. npm-start-signals.test.ts beside it drives the real thing.
 */
import t, { type Test } from 'tap';
import { STOP_SIGNALS, signalExitCode, stopOnSignals } from '../../src/launcher.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function harness(t: Test, stop: (signal: string) => Promise<number>, deadlineMs = 5000) {
  const exits: number[] = [];
  const logs: string[] = [];
  const calls: string[] = [];
  const remove = stopOnSignals(
    (signal) => {
      calls.push(signal);
      return stop(signal);
    },
    { deadlineMs, log: (m) => logs.push(m), exit: (code) => exits.push(code) },
  );
  t.teardown(remove);
  return { exits, logs, calls, remove };
}

t.test('the first signal runs stop once and exits with its code; a repeat within a second is the same request', async (t) => {
  const h = harness(t, async () => {
    await sleep(50);
    return 0;
  });
  process.emit('SIGTERM', 'SIGTERM');
  process.emit('SIGINT', 'SIGINT');
  await sleep(150);
  t.same(h.calls, ['SIGTERM'], 'stop ran once');
  t.same(h.exits, [0], 'exit code from stop');
});

t.test('a later repeat ends the process at once with the signal code', async (t) => {
  const h = harness(t, () => new Promise<number>(() => {}), 1500);
  process.emit('SIGINT', 'SIGINT');
  await sleep(1100);
  process.emit('SIGINT', 'SIGINT');
  t.same(h.exits, [signalExitCode('SIGINT')]);
  t.equal(signalExitCode('SIGINT'), 130);
  t.match(h.logs.join('\n'), /SIGINT again/);
});

t.test('a stop that fails exits 1 and says why', async (t) => {
  const h = harness(t, async () => {
    throw new Error('database would not stop');
  });
  process.emit('SIGHUP', 'SIGHUP');
  await sleep(20);
  t.same(h.exits, [1]);
  t.match(h.logs.join('\n'), /database would not stop/);
});

t.test('a stop slower than the deadline is cut short with exit 1', async (t) => {
  const h = harness(t, () => new Promise<number>(() => {}), 100);
  process.emit('SIGTERM', 'SIGTERM');
  await sleep(250);
  t.same(h.exits, [1]);
  t.match(h.logs.join('\n'), /not stopped within 100 ms of SIGTERM/);
});

t.test('the returned function removes every handler it installed', async (t) => {
  const before = STOP_SIGNALS.map((s) => process.listenerCount(s));
  const h = harness(t, async () => 0);
  t.same(
    STOP_SIGNALS.map((s) => process.listenerCount(s)),
    before.map((n) => n + 1),
  );
  h.remove();
  t.same(
    STOP_SIGNALS.map((s) => process.listenerCount(s)),
    before,
  );
});
