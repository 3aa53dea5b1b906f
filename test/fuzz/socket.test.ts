/**
 * Fuzz: hostile socket frames on /sync. Valid subscribe / unsubscribe / push / auth / ping messages
 * are mutated at random (wrong types, missing and extra fields, huge strings and numbers, unicode
 * edge cases, 10k-level nesting, prototype keys, truncated JSON, duplicated keys), and sent as text,
 * binary, fragmented, oversize or invalid-UTF-8 frames, one at a time. Each frame must get an answer
 * (an `error` with a known, non-5xx code, or the message's normal answer) or a documented close:
 * 1009 for a frame over the limit, 1007 for a text frame that is not UTF-8 (RFC 6455 §8.1), 4000
 * after a flood of bad messages, 4401 for `auth` with another user's token, 4429 past the message
 * rate — never a hang or another close. Answers that accepted nothing must have written nothing.
 * Afterwards a fresh socket still connects, subscribes and receives a push.
 *
 * Reproducible: `FUZZ_SEED=<n> FUZZ_ITERATIONS=<n> npm test -- test/fuzz/socket.test.ts`.
 */
import { isUtf8 } from 'node:buffer';
import t, { type Test } from 'tap';
import { mintDevToken } from '../../src/auth/dev-verifier.js';
import { ERROR_CODES } from '../../src/errors/codes.js';
import { auth, startTestServer, TEST_SECRET, token } from '../helpers/server.js';
import { type Instance, spawnInstance } from '../realtime/fixtures/harness.js';
import { type Frame, FuzzSocket, type Msg, type Outcome } from './fixtures/fuzz-socket.js';
import { Draft, TEXT_MUTATORS, TEXT_WEIGHTS, excerpt, mutate, withInvalidUtf8 } from './fixtures/mutate.js';
import { Rng, fuzzIterations, fuzzSeed } from './fixtures/rng.js';
import { MEMBER, OUTSIDER, OWNER, type DbState, World, dbState, pushProblems, tableCounts } from './fixtures/world.js';

const seed = fuzzSeed();
const iterations = fuzzIterations(300);
const started = Date.now();
t.comment(`FUZZ_SEED=${seed} FUZZ_ITERATIONS=${iterations} (reproduce: FUZZ_SEED=${seed} npm test -- test/fuzz/socket.test.ts)`);

const MAX_PAYLOAD = 262_144; // WS_MAX_PAYLOAD_BYTES's default, stated so the 1009 expectation is explicit
const MESSAGE_RATE = 1000;
const ANSWER_TIMEOUT_MS = 10_000;
const env = { WS_MAX_MESSAGES_PER_SECOND: String(MESSAGE_RATE), WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD), RATE_LIMIT_MAX: '1000000' };
// An in-process server on the file's database builds the world and reads the database; the fuzzed
// socket server runs in a process of its own on the same database, so a crash is a real exit (seen,
// reported with the frame that caused it, and the server restarted), not an exception inside tap.
const server = await startTestServer(t, env);
const sql = server.services.sql;
let instance: Instance = await spawnInstance(t, server.url, env);
let restarts = 0;
const wsUrl = () => instance.wsUrl;
const rng = new Rng(seed);
const world = await World.build(server.app, sql, rng.fork(-1));

/** Valid tokens of other users: `auth` with one of them must end the socket with 4401. */
const otherTokens = new Map<string, string>(); // token → uid
const tokenFor = (uid: string, of: string) => {
  const tok = token(of);
  if (of !== uid) otherTokens.set(tok, of);
  return tok;
};

const failures: string[] = [];
let current: Test = t;
const answers = new Map<string, number>();
const closes = new Map<number, number>();
let reconnects = 0;
let accepted = 0;
let compared = 0;
let state: DbState = await dbState(sql);

const exited = (i: Instance) => i.proc.exitCode !== null || i.proc.signalCode !== null;

/** True (after reporting it and starting a new server) when the server process died. */
async function crashed(label: string, frame: Frame): Promise<boolean> {
  if (!exited(instance)) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      instance.proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  if (!exited(instance)) return false;
  const stderr = instance.output
    .join('')
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, 8)
    .join('\n    ');
  fail(
    label,
    frame,
    `the server process exited (code ${String(instance.proc.exitCode)}, signal ${String(instance.proc.signalCode)}):\n    ${stderr}`,
  );
  instance = await spawnInstance(t, server.url, env);
  restarts++;
  sock = undefined;
  return true;
}

let sock: FuzzSocket | undefined;
let sockUid = OWNER;
/** Bad messages (INVALID_MESSAGE / VALIDATION_FAILED) answered on the current socket: past 20 a 4000 is expected. */
let invalidOnSocket = 0;
const allSockets: FuzzSocket[] = [];
t.teardown(() => {
  for (const s of allSockets) s.terminate();
});

async function reopen(uid: string): Promise<FuzzSocket> {
  sock?.terminate();
  const { socket, hello } = await FuzzSocket.open(wsUrl(), uid);
  if (hello.userId !== uid) throw new Error(`hello for ${String(hello.userId)}, expected ${uid}`);
  allSockets.push(socket);
  sock = socket;
  sockUid = uid;
  invalidOnSocket = 0;
  reconnects++;
  return socket;
}

function fail(label: string, frame: Frame, problem: string): void {
  const data = frame.data;
  const msg =
    `seed=${seed} ${label}: ${problem}\n` +
    `  reproducer: as ${sockUid}, a ${frame.binary ? 'binary' : 'text'} frame${frame.fragments ? ` in ${frame.fragments} fragments` : ''} of ${excerpt(data)}`;
  failures.push(msg);
  current.fail(msg);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const bytesOf = (f: Frame) => (Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data, 'utf8'));

/** The frame's message as the server would read it (undefined when it is not a JSON object text frame). */
function parsedFrame(f: Frame): Record<string, unknown> | undefined {
  if (f.binary) return undefined;
  const bytes = bytesOf(f);
  if (!isUtf8(bytes)) return undefined;
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    return isObj(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Which answer type each message type gets when it is valid. */
const ANSWER_OF: Record<string, string[]> = {
  ping: ['pong'],
  subscribe: ['subscribed', 'resync'],
  unsubscribe: ['unsubscribed'],
  push: ['pushResult'],
  auth: ['authOk'],
};

/** Sends one frame and checks its answer, the socket's fate and the database. */
async function exercise(label: string, frame: Frame, uid = OWNER): Promise<void> {
  if (!sock?.open) await reopen(uid);
  const s = sock as FuzzSocket;
  const bytes = bytesOf(frame);
  const message = parsedFrame(frame);
  const allowed = new Set<number>();
  if (bytes.length > MAX_PAYLOAD) allowed.add(1009);
  if (!frame.binary && !isUtf8(bytes)) allowed.add(1007);
  if (message?.type === 'auth' && typeof message.token === 'string' && otherTokens.has(message.token)) allowed.add(4401);
  const closeOk = (code: number) =>
    allowed.has(code) || (code === 4000 && invalidOnSocket >= 20) || (code === 4429 && s.sent > MESSAGE_RATE * 5);

  s.send(frame);
  const outcome: Outcome = await s.next(ANSWER_TIMEOUT_MS);
  let acceptedHere = 0;
  if ((outcome.kind === 'close' && outcome.code === 1006) || outcome.kind === 'timeout') {
    if (await crashed(label, frame)) {
      state = await dbState(sql);
      return;
    }
  }
  if (outcome.kind === 'timeout') {
    fail(label, frame, `no answer and no close within ${ANSWER_TIMEOUT_MS} ms (a hang)`);
    // Go on with a fresh socket, so one hang does not hide the frames after it.
    s.terminate();
    sock = undefined;
  } else if (outcome.kind === 'close') {
    closes.set(outcome.code, (closes.get(outcome.code) ?? 0) + 1);
    if (!closeOk(outcome.code))
      fail(
        label,
        frame,
        `closed with ${outcome.code} ${JSON.stringify(outcome.reason)}, which this frame does not call for (allowed: ${[...allowed].join(', ') || 'none'}; ${invalidOnSocket} bad messages before)`,
      );
  } else {
    const m: Msg = outcome.msg;
    answers.set(
      m.type === 'error' ? `error ${String(m.code)}` : m.type,
      (answers.get(m.type === 'error' ? `error ${String(m.code)}` : m.type) ?? 0) + 1,
    );
    const answerRef = m.type === 'error' ? m.ref : m.id;
    if (answerRef !== undefined && (message === undefined || JSON.stringify(answerRef) !== JSON.stringify(message.id))) {
      fail(label, frame, `the answer refers to ${JSON.stringify(answerRef)}, not to this message's id ${JSON.stringify(message?.id)}`);
    }
    if (m.type === 'error') {
      const code = m.code;
      if (typeof code !== 'string' || !Object.hasOwn(ERROR_CODES, code))
        fail(label, frame, `error with an unknown code ${JSON.stringify(code)}`);
      else if (ERROR_CODES[code as keyof typeof ERROR_CODES].status >= 500)
        fail(label, frame, `error ${code} (a server failure): ${JSON.stringify(m).slice(0, 300)}`);
      if (typeof m.message !== 'string') fail(label, frame, 'error without a message');
      if (m.details !== undefined && !Array.isArray(m.details)) fail(label, frame, 'error.details is not a list');
      if (code === 'INVALID_MESSAGE' || code === 'VALIDATION_FAILED') invalidOnSocket++;
    } else {
      const expected = message && typeof message.type === 'string' ? ANSWER_OF[message.type] : undefined;
      if (!expected?.includes(m.type)) fail(label, frame, `answered ${m.type}, which is not an answer to ${JSON.stringify(message?.type)}`);
      if (m.type === 'pushResult') {
        const r = pushProblems(m.events, Array.isArray(message?.events) ? message.events.length : undefined);
        for (const p of r.problems) fail(label, frame, p);
        acceptedHere = r.accepted;
        accepted += r.accepted;
      }
    }
    // A close may follow an answer: after the 21st bad message (4000), or `auth` naming another user (4401).
    if ((m.type === 'error' && invalidOnSocket >= 20) || allowed.has(4401)) await s.settle(allowed.has(4401) ? 1000 : 100);
    if (s.closed) {
      closes.set(s.closed.code, (closes.get(s.closed.code) ?? 0) + 1);
      if (!closeOk(s.closed.code))
        fail(
          label,
          frame,
          `closed with ${s.closed.code} after answering ${m.type}; not called for (allowed: ${[...allowed].join(', ') || 'none'})`,
        );
    } else if (allowed.has(4401) && m.type === 'error' && m.code === 'UNAUTHENTICATED') {
      fail(label, frame, "auth with another user's token answered an error but did not close with 4401");
    }
  }
  if (s.garbage.length > 0)
    fail(label, frame, `the server sent frames that are not JSON: ${JSON.stringify(s.garbage.splice(0)).slice(0, 300)}`);

  const after = await dbState(sql);
  if (acceptedHere === 0) {
    compared++;
    if (after.digest !== state.digest) {
      fail(
        label,
        frame,
        `nothing was accepted, but the database changed (events ${state.events} → ${after.events}; tables now ${JSON.stringify(await tableCounts(sql))})`,
      );
    }
  } else if (after.events - state.events !== acceptedHere || after.heads - state.heads !== acceptedHere) {
    fail(
      label,
      frame,
      `${acceptedHere} events accepted, but the log grew by ${after.events - state.events} rows and the heads by ${after.heads - state.heads}`,
    );
  }
  if (after.digest !== state.digest) {
    await world.refresh();
    await world.ensureAlive(rng.fork(2_000_000 + accepted));
    state = await dbState(sql);
  } else {
    state = after;
  }
}

const text = (v: unknown): Frame => ({ data: typeof v === 'string' ? v : JSON.stringify(v), binary: false });

// ---- fixed frames: every kind of hostile frame, whatever the seed ---------------------------------------

t.test('fixed hostile frames', async (t) => {
  current = t;
  const before = failures.length;
  const r = rng.fork(-2);
  const main = world.ours()[0]?.id as string;
  const event = () => world.event(r, 'category.add');
  const cases: [string, Frame][] = [
    ['a binary frame of a valid ping', { data: Buffer.from(JSON.stringify({ type: 'ping', id: 'b1' })), binary: true }],
    ['a ping after it (the socket stayed open)', text({ type: 'ping', id: 'p1' })],
    ['a ping in 4 fragments', { ...text({ type: 'ping', id: 'frag' }), fragments: 4 }],
    ['a binary frame of random bytes', { data: Buffer.from(Array.from({ length: 64 }, () => r.int(0, 255))), binary: true }],
    ['an empty text frame', text('')],
    ['JSON that is not an object', text('[{"type":"ping"}]')],
    ['null', text('null')],
    ['a number', text('1e400')],
    ['a string', text('"ping"')],
    ['truncated JSON', text('{"type":"ping","id":')],
    ['a NUL character', text('\u0000')],
    ['type "__proto__"', text('{"type":"__proto__","id":"x"}')],
    ['type "constructor"', text({ type: 'constructor', id: 'x' })],
    ['type "toString"', text({ type: 'toString', id: 'x' })],
    ['type "hasOwnProperty"', text({ type: 'hasOwnProperty', id: 'x' })],
    ['an own __proto__ key on a ping', text('{"type":"ping","id":"x","__proto__":{"type":"push"}}')],
    ['duplicated type keys', text('{"type":"push","type":"ping","id":"dup"}')],
    // Found by this fuzzer: the `unknown message type` error JSON.stringify-s the type, which throws
    // RangeError past ~5k levels, out of the socket's message handler: the process exits.
    ['a type of 10k nested objects', text(`{"type":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)},"id":"deep-type"}`)],
    ['a ping after it', text({ type: 'ping', id: 'p2' })],
    ['an id of 10k nested arrays', text(`{"type":"ping","id":${'['.repeat(10_000)}${']'.repeat(10_000)}}`)],
    ['a frame of 40k nested objects (240 kB, under the limit)', text(`${'{"a":'.repeat(40_000)}1${'}'.repeat(40_000)}`)],
    [
      'a push whose note is 10k nested arrays',
      text(
        `{"type":"push","id":"deep","events":[${JSON.stringify(world.event(r, 'expense.add')).slice(0, -1)},"note":${'['.repeat(10_000)}${']'.repeat(10_000)}}]}`,
      ),
    ],
    ['a push of 0 events', text({ type: 'push', id: 'e0', events: [] })],
    ['a push of 26 events', text({ type: 'push', id: 'e26', events: Array.from({ length: 26 }, event) })],
    ['a push of 1000 events (over the frame limit)', text({ type: 'push', id: 'e1000', events: Array.from({ length: 1000 }, event) })],
    ['a push of 25 events', text({ type: 'push', id: 'e25', events: Array.from({ length: 25 }, event), mode: 'independent' })],
    [
      'a push with eventType "toString"',
      text({ type: 'push', id: 'proto', events: [{ eventId: r.uuid(), eventType: 'toString', budgetId: main, when: 1 }] }),
    ],
    ['a push into another budget', text({ type: 'push', id: 'theirs', events: [{ ...event(), budgetId: world.theirs()[0]?.id }] })],
    ['a subscribe to another budget', text({ type: 'subscribe', id: 's-theirs', budgetId: world.theirs()[0]?.id, after: 0 })],
    ['a subscribe past the head', text({ type: 'subscribe', id: 's-ahead', budgetId: main, after: Number.MAX_SAFE_INTEGER })],
    ['a subscribe with after 2^64', text(`{"type":"subscribe","id":"s-big","budgetId":"${main}","after":18446744073709551616}`)],
    ['an upper-case subscribe', text({ type: 'subscribe', id: 's-upper', budgetId: main.toUpperCase(), after: 0 })],
    ['an unsubscribe of an unknown budget', text({ type: 'unsubscribe', id: 'u1', budgetId: r.uuid() })],
    ['a lone surrogate escape in an id', text('{"type":"ping","id":"\\ud800"}')],
    ['a 300 kB frame (over the limit)', text({ type: 'ping', id: 'x'.repeat(300_000) })],
    ['a 200 kB string id (under the limit)', text({ type: 'ping', id: 'x'.repeat(200_000) })],
    ['a text frame of 0xff 0xfe', { data: Buffer.from([0xff, 0xfe]), binary: false }],
    [
      'a ping with 0xc0 0xaf in its id',
      { data: Buffer.concat([Buffer.from('{"type":"ping","id":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), binary: false },
    ],
    ['an auth with an empty token', text({ type: 'auth', id: 'a0', token: '' })],
    ['an auth with a garbage token', text({ type: 'auth', id: 'a1', token: 'garbage' })],
    ['an auth with an 8 kB token', text({ type: 'auth', id: 'a2', token: 'x'.repeat(8192) })],
    [
      'an auth with an expired token',
      text({ type: 'auth', id: 'a3', token: mintDevToken(TEST_SECRET, OWNER, { nowMs: Date.now() - 7_200_000 }) }),
    ],
    ['an auth with a token of another secret', text({ type: 'auth', id: 'a4', token: mintDevToken('another-secret-0123456789', OWNER) })],
    ['an auth with a fresh token (valid)', text({ type: 'auth', id: 'a5', token: token(OWNER) })],
    ["an auth with another user's token", text({ type: 'auth', id: 'a6', token: tokenFor(OWNER, MEMBER) })],
  ];
  for (const [label, frame] of cases) await exercise(label, frame, OWNER);
  // A flood of bad messages: the 21st in a burst closes the socket with 4000, after an error.
  await reopen(OWNER);
  const flood = sock as FuzzSocket;
  for (let i = 0; i < 25 && flood.open; i++) await exercise(`bad message ${i + 1} of a flood`, text('{"type":"nope"}'), OWNER);
  t.equal(flood.closed?.code, 4000, `seed=${seed}: a flood of bad messages ends with 4000`);
  t.equal(failures.length - before, 0, `seed=${seed}: ${cases.length} fixed frames and a flood, no failure`);
});

// ---- random mutations -----------------------------------------------------------------------------------

function seedMessage(r: Rng, i: number, uid: string): Record<string, unknown> {
  const id = r.weighted<unknown>([
    [6, `m${i}`],
    [2, i],
    [1, undefined],
  ]);
  const withId = (m: Record<string, unknown>) => (id === undefined ? m : { ...m, id });
  const kind = r.weighted([
    [5, 'push'],
    [2, 'subscribe'],
    [1, 'unsubscribe'],
    [1, 'auth'],
    [1, 'ping'],
  ] as const);
  switch (kind) {
    case 'push': {
      const body = world.pushBody(r);
      return { type: 'push', id: id ?? `m${i}`, ...body };
    }
    case 'subscribe': {
      const budgetId = world.budgetId(r);
      const head = world.budgets.find((b) => b.id === budgetId)?.lastSequence ?? 0;
      return withId({ type: 'subscribe', budgetId, after: r.pick([0, 1, head, head + 1]) });
    }
    case 'unsubscribe':
      return withId({ type: 'unsubscribe', budgetId: world.budgetId(r) });
    case 'auth': {
      const tok = r.weighted<() => string>([
        [6, () => token(uid)],
        [1, () => tokenFor(uid, r.pick([OWNER, MEMBER, OUTSIDER]))],
        [1, () => mintDevToken(TEST_SECRET, uid, { nowMs: Date.now() - 7_200_000 })],
        [1, () => `${token(uid).slice(0, -3)}AAA`],
      ])();
      return withId({ type: 'auth', token: tok });
    }
    case 'ping':
      return withId({ type: 'ping' });
  }
}

t.test(`${iterations} random mutations of valid messages`, async (t) => {
  current = t;
  const before = failures.length;
  for (let i = 0; i < iterations; i++) {
    const r = rng.fork(i);
    const uid = sock?.open
      ? sockUid
      : r.weighted([
          [6, OWNER],
          [3, MEMBER],
          [1, OUTSIDER],
        ] as const);
    const d = new Draft(seedMessage(r, i, uid));
    const count = r.weighted([
      [1, 0],
      [6, 1],
      [3, 2],
      [1, 3],
    ] as const);
    mutate(d, r, { pool: world.pool(), deepDepth: 10_000 }, count);
    const notes = [...d.notes];
    const json = d.serialise();
    let frame: Frame = { data: json, binary: false };
    const how = r.weighted([
      [80, 'text'],
      [8, 'textMutation'],
      [4, 'binary'],
      [4, 'fragments'],
      [4, 'invalidUtf8'],
    ] as const);
    if (how === 'textMutation') {
      const m = (TEXT_MUTATORS[r.weighted(TEXT_WEIGHTS)] as (typeof TEXT_MUTATORS)[string])(json, r);
      frame = { data: m.body, binary: false };
      notes.push(m.note);
    } else if (how === 'binary') {
      frame = { data: Buffer.from(json), binary: true };
      notes.push('as a binary frame');
    } else if (how === 'fragments') {
      frame = { data: json, binary: false, fragments: r.int(2, 6) };
      notes.push(`in ${frame.fragments} fragments`);
    } else if (how === 'invalidUtf8') {
      const m = withInvalidUtf8(json, r);
      frame = { data: m.bytes, binary: false };
      notes.push(m.note);
    }
    await exercise(`iteration ${i} (${notes.join('; ') || 'unmutated'})`, frame, uid);
  }
  t.equal(failures.length - before, 0, `seed=${seed}: ${iterations} mutated frames, no failure`);
});

t.test('afterwards a fresh socket connects, subscribes and receives a push', async (t) => {
  current = t;
  t.equal((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, `seed=${seed}: /readyz`);
  await world.refresh();
  await world.ensureAlive(rng.fork(-3));
  const event = world.event(rng.fork(-4), 'category.add');
  const budget = world.budgets.find((b) => b.id === event.budgetId);
  const uid = budget?.participants.includes(OWNER) ? OWNER : MEMBER;
  t.notOk(exited(instance), `seed=${seed}: the server process is still up (${restarts} restarts after crashes)`);
  const ready = await fetch(`${instance.base}/readyz`);
  t.equal(ready.status, 200, `seed=${seed}: the socket server's /readyz`);
  const { socket } = await FuzzSocket.open(wsUrl(), uid);
  allSockets.push(socket);
  socket.send(text({ type: 'subscribe', id: 'final', budgetId: event.budgetId, after: budget?.lastSequence ?? 0 }));
  const sub = await socket.next(ANSWER_TIMEOUT_MS);
  t.match(sub, { kind: 'message', msg: { type: 'subscribed', budgetId: event.budgetId, id: 'final' } }, `seed=${seed}: subscribed`);
  const streamed = new Promise<Msg[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no events message within 10 s')), 10_000);
    socket.ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      if (m.type === 'events' && (m.events as { eventId: string }[]).some((e) => e.eventId === event.eventId)) {
        clearTimeout(timer);
        resolve(m.events as Msg[]);
      }
    });
  });
  const res = await fetch(`${instance.base}/events`, {
    method: 'POST',
    headers: { ...auth(uid), 'content-type': 'application/json' },
    body: JSON.stringify({ events: [event] }),
  });
  t.match(await res.json(), { events: [{ status: 'accepted' }] }, `seed=${seed}: a normal push is accepted`);
  const events = await streamed;
  t.ok(
    events.some((e) => e.eventId === event.eventId && e.sequence === (budget?.lastSequence ?? 0) + 1),
    `seed=${seed}: the subscriber received it as the next sequence`,
  );
  // And a push over the socket itself.
  const own = world.event(rng.fork(-5), 'category.add');
  own.budgetId = event.budgetId;
  socket.send(text({ type: 'push', id: 'final-push', events: [own] }));
  const answer = await socket.next(ANSWER_TIMEOUT_MS);
  t.match(
    answer,
    { kind: 'message', msg: { type: 'pushResult', id: 'final-push', events: [{ status: 'accepted' }] } },
    `seed=${seed}: a push over the socket is accepted`,
  );
  socket.terminate();
  const fmt = (m: Map<string | number, number>) => [...m.entries()].map(([k, n]) => `${k}×${n}`).join(', ');
  t.comment(
    `seed=${seed}: answers ${fmt(answers)}; closes ${fmt(closes)}; ${reconnects} sockets; ${restarts} server restarts after crashes; ${accepted} events accepted; ${compared} frames checked against the database; ${failures.length} failures; ${Date.now() - started} ms`,
  );
});
