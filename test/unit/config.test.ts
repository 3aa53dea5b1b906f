import t from 'tap';
import { ConfigError, authMode, loadConfig } from '../../src/config/load.js';

t.test('defaults need no environment at all', async (t) => {
  const c = loadConfig({});
  t.equal(c.PORT, 3000);
  t.equal(c.NODE_ENV, 'development');
  t.equal(c.DATABASE_URL, undefined, 'embedded Postgres by default');
  t.equal(authMode(c), 'dev');
  t.ok(Object.isFrozen(c), 'frozen');
});

t.test('values are converted from strings and empty strings count as unset', async (t) => {
  const c = loadConfig({ PORT: '8080', S3_FORCE_PATH_STYLE: 'true', DATABASE_URL: '', LOG_LEVEL: 'warn' });
  t.equal(c.PORT, 8080);
  t.equal(c.S3_FORCE_PATH_STYLE, true);
  t.equal(c.DATABASE_URL, undefined);
  t.equal(c.LOG_LEVEL, 'warn');
});

t.test('every problem is listed at once', async (t) => {
  try {
    loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_POOL_MAX: '0' });
    t.fail('should throw');
  } catch (e) {
    t.ok(e instanceof ConfigError);
    const problems = (e as ConfigError).problems.join('\n');
    t.match(problems, /PORT/);
    t.match(problems, /LOG_LEVEL/);
    t.match(problems, /DATABASE_POOL_MAX/);
  }
});

t.test('dev auth and the embedded database are refused in production', async (t) => {
  t.throws(() => loadConfig({ NODE_ENV: 'production' }), /AUTH_MODE[\s\S]*DATABASE_URL|DATABASE_URL[\s\S]*AUTH_MODE/);
  t.throws(
    () => loadConfig({ NODE_ENV: 'production', AUTH_MODE: 'dev', DATABASE_URL: 'postgres://x/y', FIREBASE_PROJECT_ID: 'p' }),
    /AUTH_MODE/,
  );
  const c = loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x/y', FIREBASE_PROJECT_ID: 'p' });
  t.equal(authMode(c), 'firebase');
});

t.test('the auth mode follows the Firebase settings', async (t) => {
  t.equal(authMode(loadConfig({ FIREBASE_PROJECT_ID: 'p', FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' })), 'emulator');
  t.throws(() => loadConfig({ AUTH_MODE: 'firebase' }), /FIREBASE_PROJECT_ID/);
  t.throws(() => loadConfig({ AUTH_MODE: 'emulator', FIREBASE_PROJECT_ID: 'p' }), /FIREBASE_AUTH_EMULATOR_HOST/);
  t.throws(() => loadConfig({ S3_BUCKET: 'b' }), /CDN_BASE_URL/);
  t.throws(() => loadConfig({ WS_HIGH_WATER_BYTES: '4096', WS_HARD_LIMIT_BYTES: '2048' }), /WS_HARD_LIMIT_BYTES/);
});

t.test('only config/load.ts reads process.env in src/', async (t) => {
  const { execFileSync } = await import('node:child_process');
  let out = '';
  try {
    out = execFileSync('grep', ['-rln', 'process\\.env', 'src'], { encoding: 'utf8' });
  } catch {
    out = '';
  }
  const readers = out
    .split('\n')
    .filter(Boolean)
    .filter((f) => f !== 'src/config/load.ts' && f !== 'src/auth/firebase-verifier.ts');
  t.same(readers, [], 'no other module reads the environment (the Firebase verifier only sets the emulator host the SDK reads)');
});
