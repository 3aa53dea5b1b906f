/**
 * docs/asyncapi.yaml: generated from the socket's message schemas (npm run docs), valid for the
 * AsyncAPI parser, and complete — every message either side can send, the subprotocol and every
 * close code.
 */
import fs from 'node:fs/promises';
import { Parser } from '@asyncapi/parser';
import { BEARER_PROTOCOL_PREFIX, CLOSE_CODES, type ClientMessage, SOCKET_PROTOCOL, type ServerMessage } from '@budget-sync/protocol';
import t from 'tap';
import { parse } from 'yaml';
import { asyncApiYaml } from '../../scripts/docs-asyncapi.js';

const text = await fs.readFile('docs/asyncapi.yaml', 'utf8');

// Every message type of the protocol package, both directions: a type added to the package and
// missing here does not compile, so the check below cannot fall behind the protocol.
const SERVER_TYPES: Record<ServerMessage['type'], true> = {
  hello: true,
  subscribed: true,
  unsubscribed: true,
  events: true,
  pushResult: true,
  authOk: true,
  pong: true,
  revoked: true,
  membership: true,
  resync: true,
  error: true,
};
const CLIENT_TYPES: Record<ClientMessage['type'], true> = { subscribe: true, unsubscribe: true, push: true, auth: true, ping: true };

t.test('docs/asyncapi.yaml is generated from the message schemas (npm run docs keeps it in step)', async (t) => {
  t.equal(text, asyncApiYaml());
});

t.test('the AsyncAPI parser accepts the document without errors or warnings', async (t) => {
  const { document, diagnostics } = await new Parser().parse(text);
  // Severity 0 is an error, 1 a warning; 2 and 3 are hints (such as "3.1.0 exists").
  const problems = diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} ${d.message} at ${d.path.join('.')}`);
  t.same(problems, [], 'no errors or warnings');
  t.ok(document, 'a document');
  if (!document) return;
  t.equal(document.version(), '3.0.0');
  t.same(
    document
      .channels()
      .all()
      .map((c) => c.address()),
    ['/sync'],
  );
  const names = new Set(
    document
      .allMessages()
      .all()
      .map((m) => m.name()),
  );
  for (const type of [...Object.keys(SERVER_TYPES), ...Object.keys(CLIENT_TYPES)]) t.ok(names.has(type), `message ${type}`);
  const sent = new Set<string>();
  const received = new Set<string>();
  for (const op of document.operations().all()) {
    const into = op.action() === 'send' ? sent : received;
    for (const m of op.messages().all()) into.add(m.name() as string);
    for (const m of op.reply()?.messages().all() ?? []) sent.add(m.name() as string);
  }
  t.same([...sent].sort(), Object.keys(SERVER_TYPES).sort(), 'every server message is sent by an operation or a reply');
  t.same([...received].sort(), Object.keys(CLIENT_TYPES).sort(), 'every client message is received by an operation');
});

t.test('the subprotocol, the upgrade headers and every close code are documented', async (t) => {
  const doc = parse(text) as {
    channels: { sync: { description: string; 'x-subprotocol': string; 'x-close-codes': { code: number }[]; bindings: { ws: unknown } } };
    components: { schemas: Record<string, { properties?: Record<string, { const?: unknown }> }> };
  };
  const sync = doc.channels.sync;
  t.equal(sync['x-subprotocol'], SOCKET_PROTOCOL);
  t.match(JSON.stringify(sync.bindings.ws), BEARER_PROTOCOL_PREFIX, 'the browser subprotocol token');
  t.same(
    sync['x-close-codes'].map((c) => c.code),
    Object.values(CLOSE_CODES),
  );
  for (const code of Object.values(CLOSE_CODES)) t.match(sync.description, `| ${code} |`, `close code ${code} in the description`);
  t.equal(doc.components.schemas.HelloMessage?.properties?.type?.const, 'hello', 'payloads are the message schemas');
});
