/**
 * docs/openapi.json: generated from the routes (npm run docs), served as `GET /openapi.json`, clean
 * under `redocly lint` with its recommended rules, and saying what the contract says — operation ids,
 * tags, the bearer scheme, and the statuses the routes answer.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import t from 'tap';
import { openApiJson } from '../../scripts/docs-openapi.js';
import { startTestServer } from '../helpers/server.js';

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}
interface Doc {
  openapi: string;
  servers?: { url: string }[];
  security?: unknown[];
  tags?: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; scheme?: string }> };
}

const committed = await fs.readFile('docs/openapi.json', 'utf8');
const doc = JSON.parse(committed) as Doc;

t.test('docs/openapi.json is what the server serves (npm run docs keeps it in step)', async (t) => {
  t.equal(committed, await openApiJson(), 'the committed file is the generated document');
  const server = await startTestServer(t);
  const res = await server.app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), doc, 'GET /openapi.json serves the same document');
});

t.test('redocly lint with the recommended rules reports no problem', async (t) => {
  const child = spawn('node_modules/.bin/redocly', ['lint', 'docs/openapi.json', '--format=json'], {
    // No telemetry, no update check: the test runs offline.
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.equal(code, 0, `redocly exits 0 ${err.slice(-500)}`);
  const report = JSON.parse(out) as { totals: { errors: number; warnings: number }; problems: unknown[] };
  t.same(report.totals, { errors: 0, warnings: 0, ignored: 3 }, JSON.stringify(report.problems).slice(0, 2000));
});

t.test('every operation has an id, a summary, a tag, a success answer and the error envelope', async (t) => {
  const ids = new Set<string>();
  const tags = new Set((doc.tags ?? []).map((x) => x.name));
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const name = `${method.toUpperCase()} ${path}`;
      t.ok(op.operationId && !ids.has(op.operationId), `${name}: a unique operationId`);
      ids.add(op.operationId as string);
      t.ok(op.summary, `${name}: a summary`);
      t.ok(op.tags?.length === 1 && tags.has(op.tags[0] as string), `${name}: one declared tag`);
      const statuses = Object.keys(op.responses);
      t.ok(
        statuses.some((s) => s.startsWith('2')),
        `${name}: a success answer`,
      );
      for (const s of statuses.filter((s) => Number(s) >= 400)) {
        t.same(
          op.responses[s]?.content?.['application/json']?.schema,
          { $ref: '#/components/schemas/ErrorBody' },
          `${name} ${s}: ErrorBody`,
        );
      }
      const open = ['/healthz', '/readyz', '/metrics', '/openapi.json'].includes(path);
      t.same(op.security, open ? [] : undefined, `${name}: ${open ? 'no token' : 'the bearer token'}`);
      if (!open) t.ok(statuses.includes('401'), `${name}: documents 401`);
    }
  }
  t.same(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', bearerFormat: 'Firebase ID token' });
  t.same(doc.security, [{ bearer: [] }], 'the bearer token is the default');
  t.ok(doc.servers?.length, 'servers');
});

t.test('the statuses of the contract', async (t) => {
  const success = (method: string, path: string) =>
    Object.keys(doc.paths[path]?.[method]?.responses ?? {})
      .filter((s) => s.startsWith('2'))
      .sort();
  t.same(success('post', '/budget'), ['200', '201'], 'POST /budget: 201 created, 200 for a replay');
  t.same(success('post', '/budgets/{budgetId}/invites'), ['201']);
  t.same(success('delete', '/user'), ['204']);
  t.same(success('delete', '/budgets/{budgetId}/invites/{inviteId}'), ['204']);
  t.same(success('delete', '/user/profile-photo'), ['204']);
  t.same(success('delete', '/budgets/{budgetId}/leave'), ['200']);
  t.notOk(doc.paths['/user']?.delete?.responses['204']?.content, 'a 204 has no body');
  t.ok(doc.paths['/budget']?.post?.responses['409'], 'POST /budget: 409 BUDGET_EXISTS');
  const push = doc.paths['/events']?.post as Operation & { requestBody: { content: Record<string, { schema: unknown }> } };
  t.same(push.requestBody.content['application/json']?.schema, { $ref: '#/components/schemas/PushRequest' }, 'a push documents its events');
  for (const name of ['Budget', 'Category', 'Expense', 'Participant', 'StreamEvent', 'PushResult', 'ErrorBody', 'Snapshot']) {
    t.ok(doc.components.schemas[name], `components.schemas.${name}`);
  }
});
