/**
 * `npm run bench:serialize [-- --markdown] [--seconds 2]`
 *
 * What fastify's compiled serializer does to the cost of writing the JSON of the largest answers:
 * a push result of 25 accepted expense.add events, a stream page of 500 events and a snapshot of
 * 500 expenses. Each payload is written by the serializer fastify compiles from the route's
 * response schema (taken from a real route with the server's components) and, in the same run, by
 * `JSON.stringify` — what the server did before responses were declared. No database, no HTTP:
 * only the serialization step, which bench:ingest measures inside the whole request.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import Fastify from 'fastify';
import { pushSchema, streamSchema } from '../src/http/routes/event-schemas.js';
import { registerComponents } from '../src/http/responses.js';
import { buildSerializer } from '../src/http/serializer.js';
import { ref } from '../src/protocol/components.js';
import { Snapshot } from '../src/protocol/wire.js';
import { machine, table } from './lib/env.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    markdown: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write('npm run bench:serialize -- [--seconds N (per cell, default 2)] [--markdown]\n');
  process.exit(0);
}
const SECONDS = Number(values.seconds);

const budgetId = randomUUID();
const now = Date.now();
const expense = () => ({
  id: randomUUID(),
  budgetId,
  categoryId: randomUUID(),
  date: '2025-05-06',
  amount: '12.34',
  note: 'coffee with a colleague',
  createdBy: 'uid-0123456789',
  version: 1,
  createdAt: now,
  updatedAt: now,
});
const streamEvent = (sequence: number) => {
  const record = expense();
  return {
    sequence,
    eventId: randomUUID(),
    eventType: 'expense.add',
    budgetId,
    recordId: record.id,
    actorId: record.createdBy,
    when: now,
    serverTime: now,
    version: 1,
    record,
  };
};
const pushResponse = {
  events: Array.from({ length: 25 }, (_, i) => {
    const { sequence, eventId, eventType, recordId, version, record } = streamEvent(i + 1);
    return { eventId, eventType, budgetId, recordId, status: 'accepted', sequence, version, record };
  }),
};
const page = { budgetId, key: 0, nextKey: 500, events: Array.from({ length: 500 }, (_, i) => streamEvent(i + 1)), hasMore: false };
const budget = { id: budgetId, title: 'Home', details: null, ownerId: 'u', createdBy: 'u', version: 1, createdAt: now, updatedAt: now };
const snapshot = { budget, participants: [], categories: [], expenses: Array.from({ length: 500 }, expense), lastSequence: 1000 };

/** The serializer fastify compiles for each route's 200 answer, taken from inside a handler. */
async function serializers(): Promise<Record<string, (v: unknown) => string>> {
  // As src/http/app.ts builds it: the same serializer factory and components.
  const app = Fastify({ schemaController: { compilersFactory: { buildSerializer } } });
  registerComponents(app);
  const got: Record<string, (v: unknown) => string> = {};
  const capture = (name: string, response: unknown) =>
    app.get(`/${name}`, { schema: { response: { 200: response } } }, async (_req, reply) => {
      got[name] = reply.getSerializationFunction('200') as (v: unknown) => string;
      return null;
    });
  capture('push', pushSchema.response[200]);
  capture('page', streamSchema.response[200]);
  capture('snapshot', ref(Snapshot));
  await app.ready();
  for (const name of ['push', 'page', 'snapshot']) await app.inject({ url: `/${name}` }).catch(() => {});
  await app.close();
  return got;
}

/** Serializations per second of `fn(value)` over SECONDS (after a warm-up). */
function rate(fn: (v: unknown) => string, value: unknown): number {
  let sink = 0;
  for (const end = Date.now() + 300; Date.now() < end; ) sink += fn(value).length;
  let n = 0;
  const started = process.hrtime.bigint();
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) {
    for (let i = 0; i < 10; i++) sink += fn(value).length;
    n += 10;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (sink === 0) throw new Error('nothing serialized');
  return n / seconds;
}

const compiled = await serializers();
const rows: (string | number)[][] = [];
for (const [name, label, value] of [
  ['push', 'POST /events: 25 accepted results', pushResponse],
  ['page', 'GET /events: 500 stream events', page],
  ['snapshot', 'GET /budgets/:id/snapshot: 500 expenses', snapshot],
] as const) {
  const fn = compiled[name] as (v: unknown) => string;
  // The same content (key order may differ), or the comparison means nothing.
  if (!isDeepStrictEqual(JSON.parse(fn(value)), value)) throw new Error(`${name}: the serializer changed the payload`);
  // Interleaved: A B B A, averaged.
  const a1 = rate(fn, value);
  const b1 = rate(JSON.stringify, value);
  const b2 = rate(JSON.stringify, value);
  const a2 = rate(fn, value);
  const ours = (a1 + a2) / 2;
  const plain = (b1 + b2) / 2;
  rows.push([
    label,
    `${Math.round(fn(value).length / 1024)} KiB`,
    Math.round(ours),
    Math.round(plain),
    `${Math.round((ours / plain) * 100)}%`,
  ]);
  process.stderr.write(`${rows.at(-1)?.join('  ')}\n`);
}
process.stdout.write(`\nSerialization: the compiled response serializer vs JSON.stringify (${SECONDS} s per cell, A B B A)\n`);
process.stdout.write(`machine: ${machine()}\ncommand: npm run bench:serialize -- --seconds ${SECONDS}\n\n`);
process.stdout.write(
  `${table(['payload', 'size', 'compiled serializer / s', 'JSON.stringify / s', 'compiled / JSON.stringify'], rows, values.markdown)}\n`,
);
