/**
 * `npm run demo` as a newcomer runs it (in `npm run test:browser`, beside the app's own test): it
 * starts an embedded Postgres, the sync server and the app's server, prints the two addresses; the
 * app's page loads, its sign-in answers a token, and the sync server takes that token from a page of
 * the app's origin (CORS), and only from there. Then SIGINT — and, on a second run over the same
 * data, SIGTERM — to the npm process stops all three: npm exits, every port is free, no Postgres of
 * the demo's data folder is left running.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../../src/db/embedded.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dataDir = path.join(ROOT, `.data/demo-test-${process.pid}`);
t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
const ports = { PORT: await freePort(), DEMO_PORT: await freePort(), EMBEDDED_PG_PORT: await freePort() };

interface Demo {
  npm: ChildProcess;
  app: string;
  api: string;
  output: () => string;
  exited: Promise<number | null>;
}

async function startDemo(): Promise<Demo> {
  const env: Record<string, string | undefined> = { ...process.env, EMBEDDED_PG_DIR: dataDir };
  for (const [k, v] of Object.entries(ports)) env[k] = String(v);
  delete env.DATABASE_URL; // a fresh clone has none: the demo brings its own Postgres
  const npm = spawn('npm', ['run', 'demo'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  npm.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  npm.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const app = /The app:\s+(\S+)/.exec(out)?.[1];
    const api = /The sync server:\s+(\S+)/.exec(out)?.[1];
    if (app && api) return { npm, app, api, output: () => out, exited };
    if (npm.exitCode !== null || Date.now() > deadline) throw new Error(`the demo did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** Processes whose command line names the demo's data folder (its Postgres). */
const leftOver = () =>
  execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(dataDir));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`npm run demo serves the app and the sync server; ${signal} to npm stops everything`, async (t) => {
    const demo = await startDemo();
    t.teardown(() => {
      if (demo.npm.exitCode === null) demo.npm.kill('SIGKILL');
    });
    t.equal(new URL(demo.app).port, String(ports.DEMO_PORT), `the app at ${demo.app}`);
    t.equal(new URL(demo.api).port, String(ports.PORT), `the sync server at ${demo.api}`);
    t.ok(leftOver().length > 0, 'its embedded Postgres runs');

    const page = await fetch(demo.app);
    t.match(await page.text(), /<script type="module" src="\/app\.js"><\/script>/, 'the app page');
    t.match(page.headers.get('content-security-policy'), new RegExp(`connect-src 'self' ${demo.api}`), 'which may talk to the sync server');
    const signIn = await fetch(`${demo.app}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ada Lovelace' }),
    });
    const { userId, token } = (await signIn.json()) as { userId: string; token: string };
    t.equal(userId, 'ada-lovelace', 'signing in by name gives a token');
    const me = await fetch(`${demo.api}/user`, { headers: { authorization: `Bearer ${token}`, origin: demo.app } });
    t.equal(me.status, 200, 'the sync server takes it');
    t.equal(me.headers.get('access-control-allow-origin'), demo.app, "from the app's origin (CORS)");
    const elsewhere = `http://127.0.0.1:${ports.EMBEDDED_PG_PORT}`;
    const other = await fetch(`${demo.api}/user`, { headers: { authorization: `Bearer ${token}`, origin: elsewhere } });
    t.equal(other.headers.get('access-control-allow-origin'), null, 'another local origin is not allowed (CORS_ORIGINS is the app)');
    t.match(await me.json(), { id: 'ada-lovelace', firstName: 'Ada', lastName: 'Lovelace' }, 'as the person who signed in');
    const minted = await fetch(`${demo.app}/token`, {
      method: 'POST',
      body: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    t.equal(minted.status, 415, 'a cross-site form cannot get a token');

    const started = Date.now();
    demo.npm.kill(signal);
    const code = await Promise.race([
      demo.exited,
      new Promise<string>((r) => setTimeout(() => r('still running 30 s later'), 30_000).unref()),
    ]);
    t.type(code, 'number', 'npm exited');
    t.comment(`npm exited ${code} ${Date.now() - started} ms after ${signal}`);
    t.match(
      demo.output(),
      new RegExp(`${signal}: stopping…[\\s\\S]*\\nstopped\\n`),
      "the demo stopped: the app's server, the sync server, Postgres",
    );
    t.same(leftOver(), [], 'no Postgres of the demo left running');
    for (const [name, port] of Object.entries(ports)) t.ok(await portFree(port), `${name} ${port} is free again`);
  });
}
