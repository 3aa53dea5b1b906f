import t from 'tap';
import { testConfig } from '../helpers/server.js';
import { createS3PhotoStore } from '../../src/storage/s3-photo-store.js';
import { s3Env, s3Store } from './fixtures/s3.js';

// Presigning is local: no server is needed, so the endpoint need not exist.
const KEY = 'pending/alice/0b7c8a3e-5d4f-4e21-9a6b-2c1d3e4f5a6b';

t.test('a presigned upload URL carries no checksum and signs content-type and content-length', async (t) => {
  const store = s3Store(t, testConfig(s3Env('http://127.0.0.1:9')));
  const { url, headers } = await store.presignUpload({ key: KEY, contentType: 'image/png', size: 1234, expiresInSeconds: 900 });
  const u = new URL(url);
  const params = [...u.searchParams.keys()].map((k) => k.toLowerCase());
  // The SDK default adds the CRC32 of an empty body, and real S3 then refuses every real upload.
  t.same(
    params.filter((k) => k.startsWith('x-amz-checksum') || k === 'x-amz-sdk-checksum-algorithm'),
    [],
  );
  t.equal(u.searchParams.get('X-Amz-SignedHeaders'), 'content-length;content-type;host');
  t.equal(u.searchParams.get('X-Amz-Expires'), '900');
  t.equal(u.pathname, `/photos-test/${KEY}`, 'path-style, the exact key');
  t.same(headers, { 'content-type': 'image/png', 'content-length': '1234' }, 'the headers the client must send');
});

t.test('no bucket configured → no store', async (t) => {
  t.equal(createS3PhotoStore(testConfig()), null);
});
