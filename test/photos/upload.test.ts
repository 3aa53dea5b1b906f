import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { bytes, startS3, storeFor } from './fixtures/s3.js';

/**
 * The store's side of the contract, over real HTTP: what the presigned URL lets a client upload and
 * what it refuses. This is what makes "type and size enforced by the signature" true.
 */
t.test('presigned uploads against an S3 server that verifies SigV4', async (t) => {
  const { endpoint } = await startS3(t);
  const store = storeFor(t, endpoint);
  const key = () => `pending/alice/${randomUUID()}`;
  const presign = (k: string, contentType = 'image/jpeg', size = 1000, expiresInSeconds = 60) =>
    store.presignUpload({ key: k, contentType, size, expiresInSeconds });
  const put = (url: string, headers: Record<string, string>, body: Uint8Array) => fetch(url, { method: 'PUT', headers, body });

  t.test('the signed request is accepted and stored with its type and size', async (t) => {
    const k = key();
    const { url, headers } = await presign(k);
    const res = await put(url, headers, bytes(1000));
    t.equal(res.status, 200, await res.text());
    t.same(await store.head(k), { contentType: 'image/jpeg', size: 1000 });
  });

  t.test('a tampered signature is refused', async (t) => {
    const k = key();
    const { url, headers } = await presign(k);
    const u = new URL(url);
    const sig = u.searchParams.get('X-Amz-Signature') ?? '';
    u.searchParams.set('X-Amz-Signature', `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`);
    t.equal((await put(u.toString(), headers, bytes(1000))).status, 403);
    t.equal(await store.head(k), null);
  });

  t.test('the URL cannot be pointed at another key (another user)', async (t) => {
    const k = key();
    const { url, headers } = await presign(k);
    const other = `pending/bob/${randomUUID()}`;
    t.equal((await put(url.replace(k, other), headers, bytes(1000))).status, 403);
    t.equal(await store.head(other), null);
  });

  t.test('another content type is refused', async (t) => {
    const k = key();
    const { url, headers } = await presign(k, 'image/png');
    t.equal((await put(url, { ...headers, 'content-type': 'text/html' }, bytes(1000))).status, 403);
    t.equal(await store.head(k), null);
  });

  t.test('a larger (or smaller) body than signed is refused', async (t) => {
    const k = key();
    const { url } = await presign(k, 'image/png', 1000);
    // fetch sets content-length from the body, as any client would.
    t.equal((await put(url, { 'content-type': 'image/png' }, bytes(1001))).status, 403);
    t.equal((await put(url, { 'content-type': 'image/png' }, bytes(6 * 1024 * 1024))).status, 403);
    t.equal((await put(url, { 'content-type': 'image/png' }, bytes(999))).status, 403);
    t.equal(await store.head(k), null);
  });

  t.test('an expired URL is refused', async (t) => {
    const k = key();
    const { url, headers } = await presign(k, 'image/webp', 1000, 1);
    await sleep(2100);
    t.equal((await put(url, headers, bytes(1000))).status, 403);
    t.equal(await store.head(k), null);
  });

  t.test('head of a missing object is null; delete of a missing object succeeds', async (t) => {
    t.equal(await store.head(key()), null);
    await store.delete(key());
  });
});
