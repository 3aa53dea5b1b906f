/**
 * What the server logs, read from its real pino output: a warning when it starts in dev auth mode,
 * expected refusals at info/warn without stacks, and only unexpected failures as errors.
 */
import pino from 'pino';
import t from 'tap';
import { loggerOptions } from '../../src/log.js';
import { createServer } from '../../src/server.js';
import { Api } from '../helpers/api.js';
import { createTestDb } from '../helpers/db.js';
import { testConfig } from '../helpers/server.js';

interface Line {
  level: number;
  msg: string;
  err?: { stack?: string };
  [k: string]: unknown;
}

const lines: Line[] = [];
const config = testConfig({ LOG_LEVEL: 'info' });
const log = pino(loggerOptions(config), {
  write(s: string) {
    lines.push(JSON.parse(s) as Line);
  },
});
const server = await createServer(config, log, await createTestDb(t), {
  photoStore: null,
  plugins: [
    async (app) => {
      app.get('/boom', async () => {
        throw new Error('kaboom');
      });
    },
  ],
});
t.teardown(() => server.close());
const api = new Api(server.app);
const WARN = 40;
const ERROR = 50;

t.test('dev auth mode warns at start', async (t) => {
  const warning = lines.find((l) => l.level === WARN && /dev auth mode/.test(l.msg));
  t.ok(warning, 'a warning names the dev auth mode');
  t.match(warning?.msg, /DEV_AUTH_SECRET/);
});

t.test('an expected refusal (503 STORAGE_NOT_CONFIGURED) logs below error and without a stack', async (t) => {
  const from = lines.length;
  const res = await api.req('GET', '/user/photo-upload-url?type=image/png&size=10', 'alice');
  t.equal(res.statusCode, 503);
  const logged = lines.slice(from).filter((l) => l.code === 'STORAGE_NOT_CONFIGURED');
  t.equal(logged.length, 1, 'logged once');
  t.ok(
    logged.every((l) => l.level < ERROR),
    `below error (levels ${logged.map((l) => l.level)})`,
  );
  t.notOk(
    logged.some((l) => JSON.stringify(l).includes('    at ')),
    'no stack',
  );
  t.same(
    lines.slice(from).filter((l) => l.level >= ERROR),
    [],
    'nothing at error level',
  );
});

t.test('an unexpected failure logs as an error, with its stack', async (t) => {
  const from = lines.length;
  const res = await api.req('GET', '/boom', 'alice');
  t.equal(res.statusCode, 500);
  t.equal(res.json().error.code, 'INTERNAL');
  t.notMatch(res.body, /kaboom/, 'the client never sees the cause');
  const errors = lines.slice(from).filter((l) => l.level === ERROR);
  t.equal(errors.length, 1);
  t.match(errors[0]?.err?.stack, /kaboom[\s\S]* {4}at /);
});
