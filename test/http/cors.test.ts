/**
 * Browsers on other origins, with real requests on a real port: preflights for every route, the
 * headers on answers (errors and 429 included), CORS_ORIGINS and its defaults, and the socket
 * upgrade's Origin check.
 */
import t from 'tap';
import WebSocket from 'ws';
import { ConfigError, corsOrigins, loadConfig } from '../../src/config/load.js';
import { originMatcher } from '../../src/config/origins.js';
import { listening } from '../realtime/fixtures/harness.js';
import { auth, token, uuid } from '../helpers/server.js';

const DEV_PAGE = 'http://localhost:5173';

const preflight = (base: string, path: string, origin: string, method = 'POST') =>
  fetch(`${base}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
  });

/** What an upgrade from `origin` gets: the HTTP status of a refusal (with the error code), or `open`. */
function upgrade(url: string, headers: Record<string, string>): Promise<{ status: number | 'open'; code?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['budget-sync.v1'], { headers });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(body) as { error: { code: string } }).error.code }));
    });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 'open' });
    });
    ws.once('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
  });
}

t.test('development defaults: any localhost / 127.0.0.1 page, preflight for every route', async (t) => {
  const server = await listening(t);
  const paths = Object.keys((server.app.swagger() as { paths: Record<string, unknown> }).paths).map((p) => p.replace(/\{[^}]+\}/g, uuid()));
  t.ok(paths.length >= 15, `the documented routes (${paths.length})`);
  for (const path of [...paths, '/sync', '/no-such-route']) {
    const res = await preflight(server.base, path, DEV_PAGE);
    t.equal(res.status, 204, `preflight ${path}`);
    t.equal(res.headers.get('access-control-allow-origin'), DEV_PAGE, `allow-origin ${path}`);
  }
  const res = await preflight(server.base, '/events', 'http://127.0.0.1:8080');
  t.equal(res.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8080');
  t.match(res.headers.get('access-control-allow-methods'), /POST/);
  t.match(res.headers.get('access-control-allow-methods'), /DELETE/);
  t.match(res.headers.get('access-control-allow-headers')?.toLowerCase(), /authorization/);
  t.equal(res.headers.get('access-control-max-age'), '600');
  t.match(res.headers.get('vary'), /Origin/);

  const me = await fetch(`${server.base}/user`, { headers: { origin: DEV_PAGE, ...auth('alice') } });
  t.equal(me.status, 200);
  t.equal(me.headers.get('access-control-allow-origin'), DEV_PAGE, 'an answer carries allow-origin');
  t.match(me.headers.get('access-control-expose-headers'), /Retry-After/, 'Retry-After is readable by the page');
  const refused = await fetch(`${server.base}/user`, { headers: { origin: DEV_PAGE } });
  t.equal(refused.status, 401);
  t.equal(refused.headers.get('access-control-allow-origin'), DEV_PAGE, 'so is an error: the page can read its code');
  t.equal(((await refused.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');

  for (const origin of ['https://evil.example', 'http://localhost.evil.example:80', 'null']) {
    const other = await preflight(server.base, '/events', origin);
    t.equal(other.headers.get('access-control-allow-origin'), null, `no allow-origin for ${origin}`);
    const get = await fetch(`${server.base}/user`, { headers: { origin, ...auth('alice') } });
    t.equal(get.headers.get('access-control-allow-origin'), null, `nor on its answers (${origin})`);
  }
});

t.test('CORS_ORIGINS: exact origins and wildcards, and nothing else', async (t) => {
  const server = await listening(t, { CORS_ORIGINS: 'https://app.example.com, https://*.example.org' });
  const allowed = async (origin: string) => (await preflight(server.base, '/events', origin)).headers.get('access-control-allow-origin');
  t.equal(await allowed('https://app.example.com'), 'https://app.example.com');
  t.equal(await allowed('https://staging.example.org'), 'https://staging.example.org');
  t.equal(await allowed('https://a.b.example.org'), null, '* is one label');
  t.equal(await allowed('http://app.example.com'), null, 'the scheme counts');
  t.equal(await allowed(DEV_PAGE), null, 'the development defaults are gone once the list is set');
});

t.test('429 answers expose Retry-After to the page', async (t) => {
  const server = await listening(t, { RATE_LIMIT_MAX: '1' });
  const headers = { origin: DEV_PAGE, ...auth('carol') };
  await fetch(`${server.base}/user`, { headers });
  const limited = await fetch(`${server.base}/user`, { headers });
  t.equal(limited.status, 429);
  t.equal(limited.headers.get('access-control-allow-origin'), DEV_PAGE);
  t.match(limited.headers.get('access-control-expose-headers'), /Retry-After/);
  t.match(limited.headers.get('retry-after'), /^\d+$/);
});

t.test('the socket upgrade checks a browser Origin against the same list', async (t) => {
  const server = await listening(t, { CORS_ORIGINS: 'https://app.example.com' });
  const bearer = { authorization: `Bearer ${token('alice')}` };
  t.same(await upgrade(server.wsUrl, { ...bearer, origin: 'https://evil.example' }), { status: 403, code: 'ORIGIN_NOT_ALLOWED' });
  t.same(await upgrade(server.wsUrl, { origin: 'https://evil.example' }), { status: 401, code: 'UNAUTHENTICATED' }, 'no token: 401 first');
  t.same(await upgrade(server.wsUrl, { ...bearer, origin: 'https://app.example.com' }), { status: 'open' }, 'an allowed page');
  t.same(await upgrade(server.wsUrl, bearer), { status: 'open' }, 'no Origin: not a browser, not checked');
});

t.test('defaults per environment, and bad entries are configuration errors', async (t) => {
  const prod = loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x@localhost/x', FIREBASE_PROJECT_ID: 'p' });
  t.same(corsOrigins(prod), [], 'production with CORS_ORIGINS unset: no browser origin');
  t.same(corsOrigins(loadConfig({ NODE_ENV: 'development' })), ['http://localhost:*', 'http://127.0.0.1:*']);
  t.same(corsOrigins(loadConfig({ CORS_ORIGINS: '*' })), ['*']);
  t.ok(originMatcher(['*'])('https://anything.example'), '* alone allows any origin');
  t.ok(originMatcher(['*'])('null'));
  t.notOk(originMatcher([])('http://localhost:3000'), 'an empty list allows none');
  let err: unknown;
  try {
    loadConfig({ CORS_ORIGINS: 'https://app.example.com/path,ftp://x,localhost:3000' });
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof ConfigError, 'a bad list stops the start');
  t.equal((err as ConfigError).problems.filter((p) => p.startsWith('CORS_ORIGINS')).length, 3, 'one problem per bad entry');
});
