import t from 'tap';
import { CachingVerifier } from '../../src/auth/caching-verifier.js';
import type { Principal, TokenVerifier } from '../../src/auth/verifier.js';
import { AppError } from '../../src/errors/app-error.js';

/** A scripted inner verifier: token "uid:expiresAt" → Principal; "fail:*" rejects. Counts calls. */
class ScriptedVerifier implements TokenVerifier {
  calls: string[] = [];
  failNext = 0;
  closed = 0;
  async verify(token: string): Promise<Principal> {
    this.calls.push(token);
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new AppError('AUTH_UNAVAILABLE', 'provider down');
    }
    const [uid = '', exp = '0'] = token.split(':');
    return { uid, expiresAt: Number(exp) };
  }
  async close(): Promise<void> {
    this.closed += 1;
  }
}

t.test('hits come from the cache until the token expires', async (t) => {
  let now = 1000;
  const inner = new ScriptedVerifier();
  const cache = new CachingVerifier(inner, 10, () => now);
  const first = await cache.verify('alice:5000');
  t.equal(await cache.verify('alice:5000'), first, 'the same Principal object is returned');
  t.same(inner.calls, ['alice:5000'], 'inner verifier called once for two verifications');
  now = 4999;
  await cache.verify('alice:5000');
  t.equal(inner.calls.length, 1, 'still cached just before expiry');
  now = 5000;
  await cache.verify('alice:5000');
  t.equal(inner.calls.length, 2, 'at expiresAt the entry is evicted and the token verified again');
  t.equal(cache.size, 1, 're-verified token is cached again (not duplicated)');
});

t.test('bounded: the oldest entry goes first', async (t) => {
  const inner = new ScriptedVerifier();
  const cache = new CachingVerifier(inner, 2, () => 0);
  await cache.verify('a:9');
  await cache.verify('b:9');
  await cache.verify('a:9'); // a hit does not refresh a's position (insertion order)
  t.equal(inner.calls.length, 2);
  await cache.verify('c:9');
  t.equal(cache.size, 2, 'never more than maxEntries');
  await cache.verify('b:9');
  t.equal(inner.calls.length, 3, 'b is still cached');
  await cache.verify('a:9');
  t.equal(inner.calls.length, 4, 'a, the oldest, was evicted when c arrived');
});

t.test('maxEntries 0 disables caching', async (t) => {
  const inner = new ScriptedVerifier();
  const cache = new CachingVerifier(inner, 0, () => 0);
  await cache.verify('a:9');
  await cache.verify('a:9');
  t.equal(inner.calls.length, 2);
  t.equal(cache.size, 0);
});

t.test('failures are not cached', async (t) => {
  const inner = new ScriptedVerifier();
  const cache = new CachingVerifier(inner, 10, () => 0);
  inner.failNext = 1;
  await t.rejects(cache.verify('a:9'), { code: 'AUTH_UNAVAILABLE' });
  t.equal(cache.size, 0);
  t.same(await cache.verify('a:9'), { uid: 'a', expiresAt: 9 }, 'the retry reaches the provider and succeeds');
  t.equal(inner.calls.length, 2);
});

t.test('close clears the cache and closes the inner verifier', async (t) => {
  const inner = new ScriptedVerifier();
  const cache = new CachingVerifier(inner, 10, () => 0);
  await cache.verify('a:9');
  await cache.close();
  t.equal(cache.size, 0);
  t.equal(inner.closed, 1);
  const noClose = new CachingVerifier({ verify: async () => ({ uid: 'x', expiresAt: 1 }) }, 1);
  await t.resolves(noClose.close(), 'an inner verifier without close() is fine');
});
