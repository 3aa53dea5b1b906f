/** The pure parts of the real-time side: the NOTIFY payload codec and the socket message parser. */
import t from 'tap';
import { parseFrame } from '../../src/realtime/messages.js';
import { MAX_PAYLOAD_BYTES, decodeNotice, encodeNotice } from '../../src/realtime/notify-payload.js';
import { uuid } from '../helpers/server.js';

t.test('a notice too big for one NOTIFY is split into payloads under 8000 bytes, losing nothing', async (t) => {
  const pointers = Array.from({ length: 1000 }, (_, i) => ({ budgetId: uuid(), sequence: i + 1 }));
  const membership = Array.from({ length: 300 }, (_, i) => ({
    userId: `user-é-${i}-${'x'.repeat(100)}`,
    budgetId: uuid(),
    change: i % 2 ? ('added' as const) : ('removed' as const),
  }));
  const payloads = encodeNotice({ instanceId: 'me', heartbeat: 7, pointers, membership });
  t.ok(payloads.length > 5, `${payloads.length} payloads`);
  for (const p of payloads) t.ok(Buffer.byteLength(p) < Math.min(8000, MAX_PAYLOAD_BYTES + 1), `${Buffer.byteLength(p)} bytes`);
  const decoded = payloads.map((p) => decodeNotice(p));
  t.ok(decoded.every((d) => d?.instanceId === 'me' && d.heartbeat === 7));
  t.same(
    decoded.flatMap((d) => d?.pointers ?? []),
    pointers,
  );
  t.same(
    decoded.flatMap((d) => d?.membership ?? []),
    membership,
  );
});

t.test('an empty notice (a heartbeat) is one payload; foreign payloads are ignored', async (t) => {
  const [hb, ...rest] = encodeNotice({ instanceId: 'i', heartbeat: 1, pointers: [], membership: [] });
  t.same(rest, []);
  t.same(decodeNotice(hb as string), { instanceId: 'i', heartbeat: 1, pointers: [], membership: [] });
  for (const junk of ['', 'hello', '[]', '{"x":1}', '{"i":5}', 'null']) t.equal(decodeNotice(junk), undefined, junk);
  t.same(decodeNotice('{"i":"x","p":[["b",1],["c","2"],5],"m":[["u","b","a"],["u","b","q"]]}'), {
    instanceId: 'x',
    pointers: [{ budgetId: 'b', sequence: 1 }],
    membership: [{ userId: 'u', budgetId: 'b', change: 'added' }],
  });
});

t.test('a pointer carries its commit time when it has one; pointers without one (older instances) still decode', async (t) => {
  const [payload] = encodeNotice({
    instanceId: 'i',
    pointers: [
      { budgetId: 'b', sequence: 3, committedAt: 1_764_000_000_123 },
      { budgetId: 'c', sequence: 4 },
    ],
    membership: [],
  });
  t.equal(payload, '{"i":"i","p":[["b",3,1764000000123],["c",4]]}');
  t.same(decodeNotice(payload as string)?.pointers, [
    { budgetId: 'b', sequence: 3, committedAt: 1_764_000_000_123 },
    { budgetId: 'c', sequence: 4 },
  ]);
  t.same(
    decodeNotice('{"i":"x","p":[["b",1,"soon"]]}')?.pointers,
    [{ budgetId: 'b', sequence: 1 }],
    'a malformed time is ignored, the pointer kept',
  );
});

t.test('frames: text JSON objects of a known type with the right fields', async (t) => {
  const frame = (v: unknown) => parseFrame(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), false);
  t.match(frame({ type: 'ping' }), { ok: true, message: { type: 'ping' } });
  t.match(frame({ type: 'subscribe', budgetId: uuid(), after: 0, id: 'a' }), { ok: true });
  t.match(frame({ type: 'push', id: 1, events: [{}], mode: 'independent' }), { ok: true });
  t.match(frame({ type: 'auth', token: 'x' }), { ok: true });
  t.match(frame({ type: 'unsubscribe', budgetId: uuid() }), { ok: true });
  t.match(parseFrame(Buffer.from('{}'), true), { ok: false, error: { code: 'INVALID_MESSAGE' } });
  t.match(parseFrame([Buffer.from('{"type":'), Buffer.from('"ping"}')], false), { ok: true }, 'fragmented');
  t.match(frame('nope'), { ok: false, error: { code: 'INVALID_MESSAGE' } });
  t.match(frame({ type: 'subscribe', budgetId: uuid(), after: -1, id: 'r' }), {
    ok: false,
    ref: 'r',
    error: { details: [{ path: '/after' }] },
  });
  t.match(frame({ type: 'push', id: 'p', events: [] }), { ok: false, ref: 'p' });
  t.match(frame({ type: 'ping', id: { no: 1 } }), { ok: false, ref: undefined }, 'an id of the wrong type is not echoed');
  t.match(frame({ type: 5 }), { ok: false, error: { code: 'INVALID_MESSAGE', message: /must be a string/ } });
  t.match(frame({ type: 'toString' }), { ok: false, error: { message: /unknown message type/ } });
});
