// WebSocket fan-out: every VU is one device holding one socket for DURATION,
// subscribed to every test budget from sequence 0, pushing expense.add batches
// to its "home" budget. Checks per socket that each budget's stream arrives
// in order with no gaps or repeats, that the VU's own accepted events come
// back on the stream, and measures commit -> delivery latency.
// See README.md for parameters and tokens.
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { WebSocket } from 'k6/websockets';
import {
  BATCH,
  WS_URLS,
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

const VUS = int(__ENV.VUS, 10);
const DURATION_S = seconds(__ENV.DURATION, 30);
const PUSH_INTERVAL_MS = int(__ENV.PUSH_INTERVAL_MS, 1000);
// After the last push, how long to keep listening for it to come back.
const DRAIN_S = seconds(__ENV.DRAIN, 5);

const wsErrors = new Counter('ws_errors');
const eventsMissing = new Counter('events_missing');
const pushAckLatency = new Trend('push_ack_latency', true);

export const options = {
  setupTimeout: '120s',
  scenarios: {
    sockets: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: 1,
      maxDuration: `${Math.ceil(DURATION_S + DRAIN_S + 30)}s`,
    },
  },
  thresholds: {
    ...deliveryThresholds,
    // Server error messages, unexpected closes, transport errors.
    ws_errors: ['count==0'],
    // Own accepted events that never came back on the stream.
    events_missing: ['count==0'],
  },
};

export function setup() {
  return setupBudgets();
}

export default function (data) {
  const vu = exec.vu.idInTest;
  const token = pick(TOKENS, vu);
  const home = pick(data.budgets, vu);
  const cursors = {}; // budgetId -> last sequence received
  const liveAfter = {}; // budgetId -> lastSequence when subscribed
  const accepted = {}; // budgetId -> highest sequence of our accepted pushes
  const sentAt = {}; // push id -> send time
  let subscribed = 0;
  let pushes = 0;
  let closing = false;
  let pushTimer = null;

  const ws = new WebSocket(`${pick(WS_URLS, vu)}/sync`, null, {
    headers: { Authorization: `Bearer ${token}` },
    tags: { name: '/sync' },
  });

  const stopPushing = setTimeout(() => {
    if (pushTimer !== null) clearInterval(pushTimer);
    pushTimer = null;
  }, DURATION_S * 1000);

  const finish = setTimeout(
    () => {
      closing = true;
      ws.close();
    },
    (DURATION_S + DRAIN_S) * 1000,
  );

  function push() {
    if (ws.readyState !== WebSocket.OPEN) return;
    const id = `vu${vu}-${++pushes}`;
    sentAt[id] = Date.now();
    ws.send(JSON.stringify({ type: 'push', id, mode: 'independent', events: expenseEvents(home, BATCH, id) }));
  }

  ws.onmessage = (e) => {
    const receivedAt = Date.now();
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch (_) {
      wsErrors.add(1, { code: 'UNPARSEABLE' });
      return;
    }
    switch (msg.type) {
      case 'hello':
        check(msg, { 'hello speaks protocol 1': (m) => m.protocol === 1 && typeof m.userId === 'string' });
        for (const b of data.budgets) {
          ws.send(JSON.stringify({ type: 'subscribe', budgetId: b.id, after: 0, id: `sub-${b.id}` }));
        }
        break;
      case 'subscribed':
        liveAfter[msg.budgetId] = msg.lastSequence;
        subscribed += 1;
        // Push only once every subscription is live, so every accepted event
        // must show up on this socket.
        if (subscribed === data.budgets.length && !closing && pushTimer === null && pushes === 0) {
          pushTimer = setInterval(push, PUSH_INTERVAL_MS);
        }
        break;
      case 'events':
        // Until "subscribed" is seen everything counts as backlog.
        observe(cursors, msg.budgetId, msg.events, liveAfter[msg.budgetId] ?? Infinity, receivedAt);
        break;
      case 'pushResult':
        if (sentAt[msg.id] !== undefined) {
          pushAckLatency.add(receivedAt - sentAt[msg.id]);
          delete sentAt[msg.id];
        }
        recordPushResults(msg.events, accepted);
        break;
      case 'error':
      case 'revoked':
      case 'resync':
        wsErrors.add(1, { code: String(msg.code || msg.reason || msg.type) });
        console.warn(`VU ${vu}: ${e.data}`);
        break;
      default:
        // membership, pong, authOk: nothing to check here.
        break;
    }
  };

  ws.onerror = (e) => {
    wsErrors.add(1, { code: 'TRANSPORT' });
    console.error(`VU ${vu}: ${e.error}`);
  };

  ws.onclose = (e) => {
    clearTimeout(stopPushing);
    clearTimeout(finish);
    if (pushTimer !== null) clearInterval(pushTimer);
    if (!closing) {
      // 1001 = server draining; still unexpected during a test.
      wsErrors.add(1, { code: `CLOSE_${e.code}` });
      console.warn(`VU ${vu}: socket closed by server (${e.code} ${e.reason || ''})`);
    }
    for (const budgetId of Object.keys(accepted)) {
      const behind = accepted[budgetId] - (cursors[budgetId] || 0);
      if (behind > 0) eventsMissing.add(behind);
    }
    const unanswered = Object.keys(sentAt).length;
    if (unanswered > 0) wsErrors.add(unanswered, { code: 'NO_PUSH_RESULT' });
    check(subscribed, { 'all budgets subscribed': (n) => n === data.budgets.length });
  };
}
