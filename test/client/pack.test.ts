/**
 * The client as apps get it: `npm pack` of packages/protocol and packages/client, both tarballs
 * installed offline into a scratch project (with a tarball of the workspace's own `ws`, the client's
 * one dependency, so that npm needs no registry), then
 *   (a) a browser consumer compiles with the DOM library and no Node types,
 *   (b) esbuild bundles it for the browser — no `ws`, no Node built-ins — and its gzipped size is
 *       printed and held to a budget,
 *   (c) the two-device example (examples/node/two-devices.mjs) runs in plain Node against a real
 *       server, through the package's Node entry.
 * TypeScript and esbuild are the workspace's own; nothing is downloaded.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';
import t from 'tap';
import { childEnv } from '../helpers/child-env.js';
import { harness, token } from './fixtures/support.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
/** Gzipped bytes of the browser bundle of a consumer using SyncClient and IndexedDbStore. */
const BUNDLE_BUDGET_BYTES = 15 * 1024;

const BROWSER_APP = `
import { IndexedDbStore, SyncClient, type Budget, type ServerMessage } from '@budget-sync/client';

export async function startSync(baseUrl: string, getToken: () => Promise<string>): Promise<SyncClient> {
  const store = await IndexedDbStore.open({ name: 'budget-sync-demo' });
  const client = new SyncClient({ baseUrl, getToken, store, WebSocket });
  client.on('change', ({ budgetId }) => void render(client, budgetId));
  await client.start();
  return client;
}

async function render(client: SyncClient, budgetId: string): Promise<void> {
  const budget: Budget | undefined = await client.budget(budgetId);
  const list = document.createElement('ul');
  for (const e of await client.expenses(budgetId)) list.append(Object.assign(document.createElement('li'), { textContent: e.amount }));
  document.title = budget?.title ?? '';
  document.body.replaceChildren(list);
}

export const isHello = (m: ServerMessage) => m.type === 'hello' && m.protocol === 1;
`;

const MINIMAL_APP = `
import { SyncClient } from '@budget-sync/client';
export const client = new SyncClient({ baseUrl: location.origin, getToken: () => 'token' });
`;

const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');

/** `npm pack` without its prepack build (the test builds each package once, before). */
async function pack(dir: string, dest: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], { cwd: dir, env: childEnv() });
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  return path.join(dest, (info as { filename: string }).filename);
}

async function bundle(dir: string, entry: string) {
  const result = await esbuild.build({
    absWorkingDir: dir,
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { code, gzipped: zlib.gzipSync(code, { level: 9 }).length, inputs: Object.keys(result.metafile.inputs) };
}

t.test('npm pack: a browser project and a Node project install the client and use it', async (t) => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'budget-sync-pack-'));
  t.teardown(() => fs.rmSync(scratch, { recursive: true, force: true }));
  const tarballs = path.join(scratch, 'tarballs');
  fs.mkdirSync(tarballs);
  // What the packages' prepack does, once each: the DOM-only check of the client's entry is
  // `npm run typecheck`'s, and compiling the consumer below checks the published types again.
  for (const pkg of ['protocol', 'client']) {
    await run(process.execPath, [tsc, '-p', `packages/${pkg}/tsconfig.build.json`], { cwd: ROOT, env: childEnv() });
  }
  const protocolTgz = await pack(path.join(ROOT, 'packages/protocol'), tarballs);
  const clientTgz = await pack(path.join(ROOT, 'packages/client'), tarballs);
  const wsTgz = await pack(path.join(ROOT, 'node_modules/ws'), tarballs);
  const listing = (await run('tar', ['-tzf', clientTgz])).stdout.split('\n');
  t.ok(
    listing.includes('package/dist/index.js') && listing.includes('package/dist/index.d.ts'),
    'the tarball has the ESM build and its types',
  );
  t.ok(listing.includes('package/dist/node.js'), 'and the Node entry');
  t.notOk(
    listing.some((f) => f.includes('test') || f.endsWith('.tsbuildinfo')),
    'and no tests or build state',
  );
  t.comment(
    `tarballs: ${path.basename(protocolTgz)} ${fs.statSync(protocolTgz).size} B, ${path.basename(clientTgz)} ${fs.statSync(clientTgz).size} B`,
  );

  const app = path.join(scratch, 'app');
  fs.mkdirSync(path.join(app, 'src'), { recursive: true });
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({
      name: 'scratch-app',
      private: true,
      type: 'module',
      dependencies: { '@budget-sync/client': `file:${clientTgz}`, '@budget-sync/protocol': `file:${protocolTgz}`, ws: `file:${wsTgz}` },
    }),
  );
  const started = Date.now();
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
    cwd: app,
    env: childEnv(),
  });
  t.comment(`npm install --offline of the two tarballs: ${Date.now() - started} ms`);
  t.ok(fs.existsSync(path.join(app, 'node_modules/ws/package.json')), 'ws came along for Node');

  // (a) A browser project: DOM library, no Node types, the package's declarations checked too.
  fs.writeFileSync(path.join(app, 'src/app.ts'), BROWSER_APP);
  fs.writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'bundler',
        lib: ['ES2022', 'DOM'],
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      include: ['src'],
    }),
  );
  const compiled = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, env: childEnv() }).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  t.equal(compiled, '', 'the browser consumer compiles against the published types');

  // (b) Its browser bundle: no ws, no Node built-ins, within the budget.
  fs.writeFileSync(path.join(app, 'src/minimal.ts'), MINIMAL_APP);
  const full = await bundle(app, 'src/app.ts');
  const minimal = await bundle(app, 'src/minimal.ts');
  t.notOk(
    full.inputs.some((i) => i.includes('node_modules/ws/')),
    'the browser bundle has no ws',
  );
  t.ok(
    full.inputs.some((i) => i.includes('@budget-sync/client/dist/index.js')),
    'it is built from the browser entry',
  );
  t.comment(
    `browser bundle (esbuild --minify, gzip -9): SyncClient + IndexedDbStore ${full.code.length} B, ${(full.gzipped / 1024).toFixed(1)} KB gzipped; SyncClient alone ${(minimal.gzipped / 1024).toFixed(1)} KB gzipped; budget ${BUNDLE_BUDGET_BYTES / 1024} KB`,
  );
  t.ok(full.gzipped <= BUNDLE_BUDGET_BYTES, `gzipped ${full.gzipped} B ≤ ${BUNDLE_BUDGET_BYTES} B`);

  // (c) The two-device example, in plain Node, against a real server.
  const h = await harness(t);
  fs.copyFileSync(path.join(ROOT, 'examples/node/two-devices.mjs'), path.join(app, 'two-devices.mjs'));
  const { stdout } = await run(process.execPath, ['two-devices.mjs'], {
    cwd: app,
    env: { ...childEnv(), BASE_URL: h.baseUrl, ALICE_TOKEN: token('alice'), BOB_TOKEN: token('bob') },
    timeout: 60_000,
  });
  const outcome = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
    aliceSees: { amount: string; note: string; createdBy: string }[];
    bobSees: string[];
    pending: number;
  };
  t.same(outcome.aliceSees, [{ amount: '12.50', note: 'lunch', createdBy: 'bob' }], "Alice's device sees Bob's expense");
  t.same(outcome.bobSees, ['Food'], "Bob's device has Alice's category");
  t.equal(outcome.pending, 0, 'nothing left to send');
});
