import { createHmac } from 'node:crypto';
import t from 'tap';
import { DEV_ISSUER, DevVerifier, mintDevToken } from '../../src/auth/dev-verifier.js';
import { AppError } from '../../src/errors/app-error.js';

const SECRET = 'a-development-secret-of-some-length';
const verifier = new DevVerifier(SECRET);

async function appError(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected the promise to reject');
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const hmac = (secret: string, body: string): string => createHmac('sha256', secret).update(body).digest('base64url');
const HEADER = b64({ alg: 'HS256', typ: 'JWT' });

t.test('mint and verify', async (t) => {
  const before = Date.now();
  const token = mintDevToken(SECRET, 'alice', { email: 'alice@example.com', name: 'Alice', ttlSeconds: 120 });
  const principal = await verifier.verify(token);
  t.match(principal, { uid: 'alice', email: 'alice@example.com', name: 'Alice' });
  t.ok(
    principal.expiresAt >= Math.floor(before / 1000) * 1000 + 120_000 && principal.expiresAt <= Date.now() + 120_000,
    'expiry follows ttlSeconds',
  );

  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
  t.match(claims, { iss: DEV_ISSUER, sub: 'alice' });
  t.equal(claims.exp, (claims.iat as number) + 120);
  const plain = await verifier.verify(mintDevToken(SECRET, 'bob'));
  t.same(Object.keys(plain).sort(), ['expiresAt', 'uid'], 'no email/name unless given');
  t.equal(
    mintDevToken(SECRET, 'bob', { nowMs: 1_000_000 }).split('.')[1],
    b64({ iss: DEV_ISSUER, sub: 'bob', iat: 1000, auth_time: 1000, exp: 4600 }),
    'default ttl is an hour',
  );
});

t.test('refusals', async (t) => {
  const good = mintDevToken(SECRET, 'alice');
  const [h, p, s] = good.split('.') as [string, string, string];
  const flip = (c: string): string => (c === 'A' ? 'B' : 'A');
  const cases: Array<[string, string, string, string]> = [
    ['tampered signature', `${h}.${p}.${s.slice(0, -2)}${flip(s.at(-2) ?? '')}${s.at(-1)}`, 'UNAUTHENTICATED', 'bad token signature'],
    ['payload swapped', `${h}.${b64({ iss: DEV_ISSUER, sub: 'admin', iat: 1, exp: 9e9 })}.${s}`, 'UNAUTHENTICATED', 'bad token signature'],
    ['wrong secret', mintDevToken('another-secret-entirely', 'alice'), 'UNAUTHENTICATED', 'bad token signature'],
    ['truncated signature', `${h}.${p}.`, 'UNAUTHENTICATED', 'bad token signature'],
    ['expired', mintDevToken(SECRET, 'alice', { nowMs: Date.now() - 7_200_000 }), 'TOKEN_EXPIRED', 'token has expired'],
    ['two parts', `${h}.${p}`, 'UNAUTHENTICATED', 'malformed token'],
    ['other header (e.g. a Firebase RS256 token)', `${b64({ alg: 'RS256', kid: 'k' })}.${p}.${s}`, 'UNAUTHENTICATED', 'malformed token'],
    ['garbage', 'garbage', 'UNAUTHENTICATED', 'malformed token'],
  ];
  // Correctly signed with the dev secret, but not a dev token or not JSON.
  const foreign = `${HEADER}.${b64({ iss: 'https://securetoken.google.com/p', sub: 'alice', iat: 1, exp: 9e9 })}`;
  cases.push(['signed, but another issuer', `${foreign}.${hmac(SECRET, foreign)}`, 'UNAUTHENTICATED', 'token is not a dev token']);
  const notJson = `${HEADER}.${Buffer.from('{not json').toString('base64url')}`;
  cases.push(['signed, but payload not JSON', `${notJson}.${hmac(SECRET, notJson)}`, 'UNAUTHENTICATED', 'malformed token']);
  const nullPayload = `${HEADER}.${b64(null)}`;
  cases.push(['signed, but payload null', `${nullPayload}.${hmac(SECRET, nullPayload)}`, 'UNAUTHENTICATED', 'token is not a dev token']);
  const future = `${HEADER}.${b64({ iss: DEV_ISSUER, sub: 'alice', iat: Math.floor(Date.now() / 1000) + 3600, exp: 9e9 })}`;
  cases.push(['signed, issued in the future', `${future}.${hmac(SECRET, future)}`, 'UNAUTHENTICATED', 'token issued in the future']);

  for (const [name, token, code, message] of cases) {
    t.match(await appError(verifier.verify(token)), { code, statusCode: 401, message }, name);
  }
  t.equal((await verifier.verify(good)).uid, 'alice', 'control: the untampered token is accepted');
});
