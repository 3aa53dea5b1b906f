/**
 * A client in another stack builds on the document alone: openapi-typescript turns docs/openapi.json
 * into types, and a small consumer compiles against them (strict); a consumer that gets the
 * contract wrong does not.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import t from 'tap';
import ts from 'typescript';

const CONSUMER = `
import type { components, operations, paths } from './api.js';

type Budget = components['schemas']['Budget'];
type Created = paths['/budget']['post']['responses'][201]['content']['application/json'];
type Replayed = operations['createBudget']['responses'][200]['content']['application/json'];
type Snapshot = paths['/budgets/{budgetId}/snapshot']['get']['responses'][200]['content']['application/json'];
type Push = paths['/events']['post']['requestBody']['content']['application/json'];
type PushResult = components['schemas']['PushResult'];
type ErrorBody = components['schemas']['ErrorBody'];
type Deleted = paths['/user']['delete']['responses'][204];

const budget: Budget = {
  id: '6414c0de-0000-4000-8000-000000000001', title: 'Home', details: null, ownerId: 'alice', createdBy: 'alice',
  version: 1, createdAt: 1, updatedAt: 1,
};
export const created: Created = { budget, participant: {
  userId: 'alice', budgetId: budget.id, role: 'owner', joinedAt: 1, firstName: null, lastName: null, photo: null,
}, sequence: 2 };
export const replayed: Replayed = created;
export const lastSequence = (s: Snapshot): number => s.lastSequence + s.expenses.length;
export const push: Push = {
  mode: 'independent',
  events: [{ eventId: budget.id, eventType: 'expense.add', budgetId: budget.id, recordId: budget.id,
    categoryId: budget.id, date: '2025-05-06', amount: '150.00', when: 1 }],
};
export function describe(r: PushResult): string {
  switch (r.status) {
    case 'accepted': case 'duplicate': return String(r.sequence);
    case 'conflict': case 'rejected': return r.error?.code ?? 'none';
    case 'skipped': return 'skipped';
  }
}
export const notFound: ErrorBody = { error: { statusCode: 404, code: 'BUDGET_NOT_FOUND', message: 'gone' } };
export const noBody: Deleted['content'] = undefined as never;
`;

const WRONG = `
import type { components, paths } from './api.js';
type Budget = components['schemas']['Budget'];
export const version: Budget['version'] = '1';
export const code: components['schemas']['ErrorBody']['error']['code'] = 'NO_SUCH_CODE';
export const status: components['schemas']['PushResult']['status'] = 'ok';
export const missing: paths['/budget']['post']['responses'][201]['content']['application/json'] = { sequence: 1 };
`;

function compile(dir: string, file: string): readonly ts.Diagnostic[] {
  const program = ts.createProgram([path.join(dir, file)], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  });
  return ts.getPreEmitDiagnostics(program);
}
const format = (ds: readonly ts.Diagnostic[]) => ds.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n');

t.test('types generated from docs/openapi.json compile a consumer and refuse a wrong one', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'openapi-ts-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const ast = await openapiTS(await fs.readFile('docs/openapi.json', 'utf8'));
  await fs.writeFile(path.join(dir, 'api.ts'), astToString(ast));
  await fs.writeFile(path.join(dir, 'package.json'), '{"type":"module"}');
  await fs.writeFile(path.join(dir, 'consumer.ts'), CONSUMER);
  await fs.writeFile(path.join(dir, 'wrong.ts'), WRONG);

  const ok = compile(dir, 'consumer.ts');
  t.equal(ok.length, 0, `the consumer compiles: ${format(ok)}`);

  const wrong = compile(dir, 'wrong.ts');
  const lines = new Set(wrong.map((d) => (d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0).line : -1)));
  t.same([...lines].sort(), [3, 4, 5, 6], `each wrong line is an error: ${format(wrong)}`);
});
