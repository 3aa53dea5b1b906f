/**
 * The real entry point refuses to start on a configuration production must never run with, and
 * says why: it exits 2 before opening anything (no database is needed to see it).
 */
import { spawn } from 'node:child_process';
import t from 'tap';
import { childEnv } from '../helpers/child-env.js';

async function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...childEnv({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, stderr };
}

const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://127.0.0.1:1/none', FIREBASE_PROJECT_ID: 'demo-project' };

t.test('production with the Auth emulator, selected either way, does not start', async (t) => {
  const selections: Record<string, string>[] = [
    { FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' },
    { AUTH_MODE: 'emulator', FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' },
  ];
  for (const env of selections) {
    const { code, stderr } = await start({ ...production, ...env });
    t.equal(code, 2, `exit 2: ${JSON.stringify(env)}`);
    t.match(stderr, /invalid configuration[\s\S]*FIREBASE_AUTH_EMULATOR_HOST: .*unsigned tokens/, 'a clear message');
  }
});

t.test('a bad secret is named, never printed', async (t) => {
  const { code, stderr } = await start({ DEV_AUTH_SECRET: 'short-secret' });
  t.equal(code, 2);
  t.match(stderr, /DEV_AUTH_SECRET: /);
  t.notMatch(stderr, /short-secret/);
});
