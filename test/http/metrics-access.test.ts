/**
 * Who may scrape `/metrics`: anyone by default (on PORT), only holders of METRICS_TOKEN when it is
 * set, and only on the internal METRICS_PORT listener when that is set — over real ports.
 */
import t from 'tap';
import { startTestServer } from '../helpers/server.js';

const TOKEN = 'scrape-token-0123456789abcdef';

t.test('by default /metrics is served on the API port without a token', async (t) => {
  const server = await startTestServer(t);
  const res = await server.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.body, /http_requests_total/);
  t.equal(server.metricsApp, undefined, 'no second listener');
});

t.test('METRICS_TOKEN: /metrics needs it as a bearer token', async (t) => {
  const server = await startTestServer(t, { METRICS_TOKEN: TOKEN });
  const scrape = (authorization?: string) =>
    server.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
  for (const [label, header] of [
    ['no token', undefined],
    ['a wrong token', 'Bearer scrape-token-0123456789abcdeX'],
    ['a prefix of it', `Bearer ${TOKEN.slice(0, -1)}`],
    ['not a bearer', `Basic ${TOKEN}`],
  ] as const) {
    const res = await scrape(header);
    t.equal(res.statusCode, 401, label);
    t.equal(res.json().error.code, 'UNAUTHENTICATED', label);
    t.notMatch(res.body, /http_requests_total/, `${label}: nothing leaks`);
  }
  const ok = await scrape(`Bearer ${TOKEN}`);
  t.equal(ok.statusCode, 200);
  t.match(ok.body, /http_requests_total/);
  t.equal((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'health stays open');
});

t.test('METRICS_PORT: /metrics moves to an internal listener that serves nothing else', async (t) => {
  const server = await startTestServer(t, { METRICS_PORT: '0', METRICS_TOKEN: TOKEN });
  t.equal((await server.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404, 'not on the API port');
  const metricsApp = server.metricsApp;
  if (!metricsApp) throw new Error('no metrics listener');
  await metricsApp.listen({ port: 0, host: '127.0.0.1' });
  const { port } = metricsApp.server.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  const scraped = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(scraped.status, 200);
  t.match(scraped.headers.get('content-type'), /text\/plain/);
  t.match(await scraped.text(), /process_cpu_seconds_total/);
  t.equal((await fetch(`${base}/metrics`)).status, 401, 'the token is still required there');
  t.equal((await fetch(`${base}/user`)).status, 404, 'no API on the metrics port');
  await server.close();
  t.equal(metricsApp.server.listening, false, 'closed with the server');
});
