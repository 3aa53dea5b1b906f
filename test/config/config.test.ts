import t from 'tap';
import { ConfigError, authMode, loadConfig, proxyTrust } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';

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

t.test('production refuses the Auth emulator however it was selected', async (t) => {
  const prod = { NODE_ENV: 'production', DATABASE_URL: 'postgres://x/y', FIREBASE_PROJECT_ID: 'p' };
  for (const env of [
    { FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' },
    { AUTH_MODE: 'emulator', FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' },
    { AUTH_MODE: 'firebase', FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' },
  ]) {
    t.throws(
      () => loadConfig({ ...prod, ...env }),
      /FIREBASE_AUTH_EMULATOR_HOST: .*unsigned tokens.*NODE_ENV=production/,
      JSON.stringify(env),
    );
  }
  t.throws(() => loadConfig({ ...prod, AUTH_MODE: 'emulator' }), /emulator/, 'AUTH_MODE=emulator alone');
  t.equal(authMode(loadConfig({ ...prod, NODE_ENV: 'development', FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' })), 'emulator');
});

t.test('a config error never prints the value of a secret setting', async (t) => {
  const secrets = Object.entries(ConfigSchema.properties)
    .filter(([, s]) => (s as { secret?: boolean }).secret)
    .map(([k]) => k)
    .sort();
  t.same(
    secrets,
    ['DATABASE_URL', 'DEV_AUTH_SECRET', 'FIREBASE_SERVICE_ACCOUNT_BASE64', 'METRICS_TOKEN'],
    'the secrets are marked in the schema',
  );
  for (const [key, value] of [
    ['DEV_AUTH_SECRET', 'hunter2-short'],
    ['METRICS_TOKEN', 'tiny-token'],
  ] as const) {
    try {
      loadConfig({ [key]: value, PORT: 'eighty' });
      t.fail(`${key}: should throw`);
    } catch (e) {
      const message = (e as ConfigError).message;
      t.match(message, new RegExp(`${key}: `), `${key} is named`);
      t.notMatch(message, value, `${key}: its value is not printed`);
      t.match(message, /got "eighty"/, 'values of other settings still are');
    }
  }
});

t.test('dev mode with the default DEV_AUTH_SECRET is refused off loopback', async (t) => {
  for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.org']) {
    t.throws(() => loadConfig({ HOST: host }), /DEV_AUTH_SECRET: .*default.*loopback/, `HOST=${host}`);
  }
  for (const host of ['127.0.0.1', '127.0.1.1', '::1', 'localhost', '::ffff:127.0.0.1']) {
    t.equal(loadConfig({ HOST: host }).HOST, host, `HOST=${host} is loopback`);
  }
  t.equal(loadConfig({ HOST: '0.0.0.0', DEV_AUTH_SECRET: 'a-secret-of-our-own-123' }).HOST, '0.0.0.0', 'with a secret of its own');
  t.equal(loadConfig({ HOST: '0.0.0.0', FIREBASE_PROJECT_ID: 'p' }).HOST, '0.0.0.0', 'other auth modes ignore the dev secret');
});

t.test('the auth mode follows the Firebase settings', async (t) => {
  t.equal(authMode(loadConfig({ FIREBASE_PROJECT_ID: 'p', FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' })), 'emulator');
  t.throws(() => loadConfig({ AUTH_MODE: 'firebase' }), /FIREBASE_PROJECT_ID/);
  t.throws(() => loadConfig({ AUTH_MODE: 'emulator', FIREBASE_PROJECT_ID: 'p' }), /FIREBASE_AUTH_EMULATOR_HOST/);
  t.throws(() => loadConfig({ S3_BUCKET: 'b' }), /CDN_BASE_URL/);
  t.throws(() => loadConfig({ WS_HIGH_WATER_BYTES: '4096', WS_HARD_LIMIT_BYTES: '2048' }), /WS_HARD_LIMIT_BYTES/);
  t.throws(() => loadConfig({ METRICS_PORT: '3000' }), /METRICS_PORT: must differ from PORT/);
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

t.test('TRUST_PROXY: a hop count, addresses, or true', async (t) => {
  t.equal(proxyTrust(loadConfig({})), false, 'unset: the peer address counts');
  t.equal(proxyTrust(loadConfig({ TRUST_PROXY: 'true' })), true);
  t.equal(proxyTrust(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 172.16.0.1' })), '10.0.0.0/8, 172.16.0.1');
  const hops = proxyTrust(loadConfig({ TRUST_PROXY: '2' })) as (address: string, hop: number) => boolean;
  t.same(
    [0, 1, 2].map((hop) => hops('10.0.0.1', hop)),
    [true, true, false],
    'two hops trusted',
  );
  t.throws(() => loadConfig({ TRUST_PROXY: 'everyone' }), /TRUST_PROXY/);
});
