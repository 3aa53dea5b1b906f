// Shared by socket.js and longpoll.js: settings from __ENV, test data created
// over the HTTP API in setup(), and the delivery checks both transports share.
// Needs k6 >= 1.0 (global crypto.randomUUID, k6/websockets).
import http from 'k6/http';
import { fail } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

export function list(value) {
  return String(value || '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function int(value, fallback) {
  const n = parseInt(value, 10);
  return Number.isFinite(n) ? n : fallback;
}

// "500ms", "30s", "2m", "1h" or a bare number of seconds -> seconds.
export function seconds(value, fallback) {
  if (value === undefined || value === '') return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(value).trim());
  if (!m) throw new Error(`cannot parse duration "${value}"`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] || 's'];
}

const trimSlash = (url) => url.replace(/\/+$/, '');

// BASE_URL may list several instances ("http://a:3000,http://b:3000"): VUs
// spread over them, so a write on one instance must reach readers on another.
export const BASE_URLS = list(__ENV.BASE_URL || 'http://127.0.0.1:3000').map(trimSlash);
export const WS_URLS = (__ENV.BASE_WS ? list(__ENV.BASE_WS) : BASE_URLS.map((u) => u.replace(/^http/, 'ws'))).map(trimSlash);
export const TOKENS = list(__ENV.TOKENS || __ENV.TOKEN);
export const BUDGETS = int(__ENV.BUDGETS, 1);
export const BATCH = int(__ENV.BATCH, 1);
export const P95_MS = int(__ENV.P95_MS, 250);
export const P99_MS = int(__ENV.P99_MS, 500);

// n is 1-based: a VU id, or an iteration number + 1.
export function pick(items, n) {
  return items[(n - 1) % items.length];
}

export const uuid = () => crypto.randomUUID();

export const sequenceGaps = new Counter('sequence_gaps');
export const sequenceRepeats = new Counter('sequence_repeats');
export const foreignEvents = new Counter('foreign_events');
export const eventsDelivered = new Counter('events_delivered');
export const deliveryLatency = new Trend('delivery_latency', true);
export const pushAccepted = new Rate('push_accepted');

export const deliveryThresholds = {
  // Missing sequences (counted per missing event) and repeated or
  // out-of-order ones: the protocol promises neither ever happens.
  sequence_gaps: ['count==0'],
  sequence_repeats: ['count==0'],
  // Events of a budget other than the one asked for.
  foreign_events: ['count==0'],
  // Receive time minus the event's serverTime (commit). Compares two clocks:
  // run the load generator on NTP-synced hosts.
  delivery_latency: [`p(95)<${P95_MS}`, `p(99)<${P99_MS}`],
  events_delivered: ['count>0'],
  push_accepted: ['rate==1'],
  checks: ['rate==1'],
};

function request(method, base, path, token, body, name, params) {
  return http.request(method, `${base}${path}`, body === undefined ? null : JSON.stringify(body), {
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    // One metric series per route, not per id.
    tags: { name },
    ...params,
  });
}

export const api = {
  get: (base, path, token, name, params) => request('GET', base, path, token, undefined, name, params),
  post: (base, path, token, body, name) => request('POST', base, path, token, body, name),
};

function expectStatus(res, status, what) {
  if (res.status !== status) fail(`${what}: expected HTTP ${status}, got ${res.status}: ${res.body}`);
}

export function expenseEvents(budget, count, note) {
  const events = [];
  for (let i = 0; i < count; i++) {
    events.push({
      eventId: uuid(),
      eventType: 'expense.add',
      budgetId: budget.id,
      recordId: uuid(),
      categoryId: budget.categoryId,
      date: '2025-05-06',
      amount: '1.25',
      note,
      when: Date.now(),
    });
  }
  return events;
}

// Records push results and keeps, per budget, the highest accepted sequence in
// `accepted` (every stream event up to it must reach this subscriber).
export function recordPushResults(results, accepted) {
  for (const r of results || []) {
    const ok = r.status === 'accepted';
    pushAccepted.add(ok, { status: String(r.status) });
    if (!ok) console.warn(`push ${r.eventId}: ${r.status} ${JSON.stringify(r.error || {})}`);
    if (ok && r.sequence > (accepted[r.budgetId] || 0)) accepted[r.budgetId] = r.sequence;
  }
}

// Creates BUDGETS budgets owned by the first token's user, makes every other
// token's user a participant through an invite, and adds one category per
// budget for the expenses to point at.
export function setupBudgets() {
  if (TOKENS.length === 0) fail('no tokens: set TOKENS (comma-separated) or TOKEN, see bench/k6/README.md');
  const base = BASE_URLS[0];
  const owner = TOKENS[0];
  const others = Array.from(new Set(TOKENS.slice(1))).filter((t) => t !== owner);
  const budgets = [];

  for (let b = 0; b < BUDGETS; b++) {
    const id = uuid();
    const budget = { eventId: uuid(), id, title: `k6 ${id.slice(0, 8)}`, when: Date.now() };
    let res = api.post(base, '/budget', owner, budget, 'POST /budget');
    expectStatus(res, 201, 'create budget');

    if (others.length > 0) {
      res = api.post(base, `/budgets/${id}/invites`, owner, {}, 'POST /budgets/:id/invites');
      expectStatus(res, 201, 'create invite');
      const invite = encodeURIComponent(res.json('token'));
      for (const token of others) {
        res = api.post(base, `/invites/${invite}/accept`, token, {}, 'POST /invites/:token/accept');
        // The default participant limit is 10 users per budget.
        expectStatus(res, 200, 'join budget (more than 10 distinct users?)');
      }
    }

    const categoryId = uuid();
    const category = {
      eventId: uuid(),
      eventType: 'category.add',
      budgetId: id,
      recordId: categoryId,
      name: 'k6',
      allocate: '100.00',
      when: Date.now(),
    };
    res = api.post(base, '/events', owner, { events: [category] }, 'POST /events');
    expectStatus(res, 200, 'add category');
    if (res.json('events.0.status') !== 'accepted') fail(`add category: ${res.body}`);
    budgets.push({ id, categoryId });
  }
  return { budgets };
}

// Checks one delivery of stream events for one budget against the last
// sequence seen (cursors[budgetId]), and samples latency for events committed
// after liveAfter (older ones are backlog, not a delivery delay).
export function observe(cursors, budgetId, events, liveAfter, receivedAt) {
  let last = cursors[budgetId] || 0;
  for (const e of events || []) {
    if (e.budgetId !== budgetId) {
      foreignEvents.add(1);
      continue;
    }
    if (e.sequence <= last) {
      sequenceRepeats.add(1);
      continue;
    }
    if (e.sequence > last + 1) sequenceGaps.add(e.sequence - last - 1);
    last = e.sequence;
    eventsDelivered.add(1);
    if (e.sequence > liveAfter) deliveryLatency.add(receivedAt - e.serverTime);
  }
  cursors[budgetId] = last;
}
