// HTTP long-poll fallback: POLLERS VUs follow one budget each with
// GET /events?budgetId=&key=&wait= (cursor = nextKey), while pushers write
// expense.add batches with POST /events at PUSH_RATE requests/s. Checks the
// same gap-free ordering as socket.js and measures commit -> delivery latency.
// See README.md for parameters and tokens.
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import {
  BASE_URLS,
  BATCH,
  api,
  deliveryThresholds,
  expenseEvents,
  int,
  observe,
  pick,
  recordPushResults,
  seconds,
  setupBudgets,
  TOKENS,
} from './lib/common.js';

const POLLERS = int(__ENV.POLLERS, 10);
const PUSH_RATE = int(__ENV.PUSH_RATE, 10);
const DURATION_S = seconds(__ENV.DURATION, 30);
const WAIT_S = int(__ENV.WAIT, 20);
// Pushers start this much later and pollers stop this much later, so every
// push lands while all pollers are listening.
const MARGIN_S = 3;

export const options = {
  setupTimeout: '120s',
  scenarios: {
    pollers: {
      executor: 'constant-vus',
      exec: 'poll',
      vus: POLLERS,
      duration: `${DURATION_S + 2 * MARGIN_S}s`,
      // Let the request in flight finish instead of cutting it off.
      gracefulStop: `${WAIT_S + 10}s`,
    },
    pushers: {
      executor: 'constant-arrival-rate',
      exec: 'push',
      rate: PUSH_RATE,
      timeUnit: '1s',
      startTime: `${MARGIN_S}s`,
      duration: `${DURATION_S}s`,
      preAllocatedVUs: Math.max(2, Math.ceil(PUSH_RATE / 5)),
      maxVUs: Math.max(10, PUSH_RATE * 2),
    },
  },
  thresholds: {
    ...deliveryThresholds,
    'http_req_failed{scenario:pushers}': ['rate==0'],
    'http_req_failed{scenario:pollers}': ['rate==0'],
    // A held request is not slow; only the pushes' response time matters.
    'http_req_duration{scenario:pushers}': [`p(95)<${int(__ENV.PUSH_P95_MS, 500)}`],
  },
};

export function setup() {
  return setupBudgets();
}

// Per-VU state: each VU runs in its own JS runtime, so these persist across
// that VU's iterations.
let cursor = null;
let liveAfter = 0;
const cursors = {};

export function poll(data) {
  const vu = exec.vu.idInTest;
  const token = pick(TOKENS, vu);
  const base = pick(BASE_URLS, vu);
  const budget = pick(data.budgets, vu);

  if (cursor === null) {
    // Start at the head: history is not what this test measures.
    const path = `/budgets/${budget.id}/last-event-sequence`;
    const res = api.get(base, path, token, 'GET /budgets/:id/last-event-sequence');
    if (!check(res, { 'last-event-sequence 200': (r) => r.status === 200 })) {
      sleep(1);
      return;
    }
    cursor = res.json('lastSequence');
    liveAfter = cursor;
    cursors[budget.id] = cursor;
  }

  const path = `/events?budgetId=${budget.id}&key=${cursor}&wait=${WAIT_S}`;
  // k6's default 60 s request timeout would cut off wait=60.
  const res = api.get(base, path, token, 'GET /events (long-poll)', { timeout: `${WAIT_S + 15}s` });
  const receivedAt = Date.now();
  if (!check(res, { 'long-poll 200': (r) => r.status === 200 })) {
    sleep(1);
    return;
  }
  const body = res.json();
  check(body, { 'nextKey never moves back': (b) => b.nextKey >= cursor });
  observe(cursors, budget.id, body.events, liveAfter, receivedAt);
  cursor = body.nextKey;
}

export function push(data) {
  const n = exec.scenario.iterationInTest + 1;
  const token = pick(TOKENS, n);
  const base = pick(BASE_URLS, n);
  const budget = pick(data.budgets, n);
  const batch = { mode: 'independent', events: expenseEvents(budget, BATCH, `k6 ${n}`) };
  const res = api.post(base, '/events', token, batch, 'POST /events');
  if (check(res, { 'push 200': (r) => r.status === 200 })) recordPushResults(res.json('events'), {});
}
