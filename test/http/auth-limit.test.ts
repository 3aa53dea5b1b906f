/**
 * Failed authentication is counted per client address before any token is checked, so guessing
 * tokens is bounded; the per-user limit of authenticated requests stays as it was.
 */
import t from 'tap';
import WebSocket from 'ws';
import { auth } from '../helpers/server.js';
import { listening } from '../realtime/fixtures/harness.js';
import { setup } from '../sync/fixtures/support.js';

const WINDOW_MS = 60_000;

t.test('past RATE_LIMIT_AUTH_FAILURES_MAX failures an address gets 429 before its token is looked at', async (t) => {
  const { server } = await setup(t, { RATE_LIMIT_AUTH_FAILURES_MAX: '3', RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) });
  const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
    server.app.inject({ method: 'GET', url: '/user', remoteAddress, headers });
  let verified = 0;
  const verify = server.services.verifier.verify.bind(server.services.verifier);
  server.services.verifier.verify = (token: string) => {
    verified++;
    return verify(token);
  };

  t.equal((await from('203.0.113.7', { authorization: 'Bearer guess-1' })).statusCode, 401);
  t.equal((await from('203.0.113.7')).statusCode, 401, 'no token counts too');
  t.equal((await from('203.0.113.7', { authorization: 'Bearer guess-3' })).statusCode, 401);
  t.equal(verified, 2);

  const limited = await from('203.0.113.7', { authorization: 'Bearer guess-4' });
  t.equal(limited.statusCode, 429);
  t.equal(limited.json().error.code, 'RATE_LIMITED');
  const retry = Number(limited.headers['retry-after']);
  t.ok(retry > 0 && retry <= WINDOW_MS / 1000, `Retry-After ${retry} s`);
  t.equal((await from('203.0.113.7', auth('alice'))).statusCode, 429, 'even a valid token: the address is shut out first');
  t.equal(verified, 2, 'no token of the limited address was checked');

  t.equal((await from('198.51.100.1', auth('alice'))).statusCode, 200, 'another address is unaffected');
  t.equal((await from('198.51.100.1', { authorization: 'Bearer nope' })).statusCode, 401);
  t.equal(
    (await from('203.0.113.7', { authorization: 'Bearer x', 'x-forwarded-for': '192.0.2.1' })).statusCode,
    429,
    'without TRUST_PROXY a forwarded-for header changes nothing',
  );
  const health = await server.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '203.0.113.7' });
  t.equal(health.statusCode, 200, 'routes without a token are not affected');
});

t.test('successes do not count, and the per-user limit of authenticated requests still holds', async (t) => {
  const { server } = await setup(t, { RATE_LIMIT_AUTH_FAILURES_MAX: '2', RATE_LIMIT_MAX: '5' });
  const codes: number[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await server.app.inject({ method: 'GET', url: '/user', remoteAddress: `192.0.2.${i + 1}`, headers: auth('bob') });
    codes.push(res.statusCode);
  }
  t.same(codes, [200, 200, 200, 200, 200, 429], 'five per user per window, whatever the address');
  const carol = await server.app.inject({ method: 'GET', url: '/user', remoteAddress: '192.0.2.1', headers: auth('carol') });
  t.equal(carol.statusCode, 200, 'another user from the same address');
});

t.test('with TRUST_PROXY the client address comes from X-Forwarded-For', async (t) => {
  const { server } = await setup(t, { RATE_LIMIT_AUTH_FAILURES_MAX: '1', TRUST_PROXY: '1' });
  const via = (client: string, headers: Record<string, string>) =>
    server.app.inject({ method: 'GET', url: '/user', remoteAddress: '10.0.0.2', headers: { 'x-forwarded-for': client, ...headers } });
  t.equal((await via('203.0.113.9', { authorization: 'Bearer bad' })).statusCode, 401);
  t.equal((await via('203.0.113.9', auth('dan'))).statusCode, 429, 'the client behind the proxy is limited');
  t.equal((await via('198.51.100.9', auth('dan'))).statusCode, 200, 'not every client of the proxy');
  t.equal((await via('spoofed, 203.0.113.9', auth('dan'))).statusCode, 429, 'one hop trusted: the address the proxy saw counts');
});

t.test('a refused socket upgrade counts, and shuts the address out of the socket too', async (t) => {
  const server = await listening(t, { RATE_LIMIT_AUTH_FAILURES_MAX: '2' });
  const upgrade = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(server.wsUrl, { headers });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => {
        ws.close();
        resolve(101);
      });
      ws.once('error', reject);
    });
  t.equal(await upgrade({ authorization: 'Bearer bad-1' }), 401);
  t.equal(await upgrade({ authorization: 'Bearer bad-2' }), 401);
  t.equal(await upgrade(auth('erin')), 429);
});
