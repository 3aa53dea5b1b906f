import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { Api } from '../helpers/api.js';
import type { UserRow } from '../../src/db/rows.js';
import { CDN, bytes, s3Env, startS3, storeFor } from './fixtures/s3.js';
import { startPhotoServer } from './fixtures/server.js';

interface Ticket {
  url: string;
  key: string;
  expiresInSeconds: number;
  headers: Record<string, string>;
}

/** The client's side of the flow: ask for a URL, PUT the bytes to it. */
async function upload(api: Api, uid: string, type = 'image/jpeg', size = 2048): Promise<Ticket> {
  const res = await api.req('GET', `/user/photo-upload-url?type=${encodeURIComponent(type)}&size=${size}`, uid);
  if (res.statusCode !== 200) throw new Error(`upload-url: ${res.statusCode} ${res.body}`);
  const ticket = res.json() as Ticket;
  const put = await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: bytes(size) });
  if (put.status !== 200) throw new Error(`PUT: ${put.status} ${await put.text()}`);
  return ticket;
}

const confirm = (api: Api, uid: string, key: string) => api.req('POST', '/user/confirm-photo-upload', uid, { key });
const publicKeyOf = (cdnUrl: string) => `public${cdnUrl.slice(CDN.length)}`;
const errorCode = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error.code;

t.test('photo routes against S3', async (t) => {
  const { endpoint } = await startS3(t);
  const store = storeFor(t, endpoint);
  const server = await startPhotoServer(t, s3Env(endpoint), store);
  const app: FastifyInstance = server.app;
  const api = new Api(app);
  const row = async (uid: string) => (await server.services.users.row(uid)) as UserRow;

  t.test('upload URL: the answer, and the type and size rules', async (t) => {
    const res = await api.req('GET', '/user/photo-upload-url?type=image/png&size=1000', 'alice');
    t.equal(res.statusCode, 200, res.body);
    const ticket = res.json() as Ticket;
    t.match(ticket.key, /^pending\/alice\/[0-9a-f-]{36}$/);
    t.equal(ticket.expiresInSeconds, 900);
    t.same(ticket.headers, { 'content-type': 'image/png', 'content-length': '1000' });
    t.ok(new URL(ticket.url).pathname.endsWith(ticket.key));
    t.equal(new URL(ticket.url).searchParams.get('X-Amz-SignedHeaders'), 'content-length;content-type;host');

    const refused = async (query: string) => {
      const r = await api.req('GET', `/user/photo-upload-url?${query}`, 'alice');
      return [r.statusCode, errorCode(r)];
    };
    t.same(await refused('type=image/gif&size=10'), [400, 'PHOTO_TYPE_NOT_ALLOWED']);
    t.same(await refused('type=text/html&size=10'), [400, 'PHOTO_TYPE_NOT_ALLOWED']);
    t.same(await refused(`type=image/jpeg&size=${5 * 1024 * 1024 + 1}`), [400, 'PHOTO_TOO_LARGE']);
    t.same(await refused('type=image/jpeg&size=0'), [400, 'VALIDATION_FAILED']);
    t.same(await refused('type=image/jpeg&size=1.5'), [400, 'VALIDATION_FAILED']);
    t.same(await refused('type=image/jpeg'), [400, 'VALIDATION_FAILED']);
    const max = await api.req('GET', `/user/photo-upload-url?type=image/webp&size=${5 * 1024 * 1024}`, 'alice');
    t.equal(max.statusCode, 200, 'exactly 5 MiB is allowed');
    t.equal((await api.req('GET', '/user/photo-upload-url?type=image/png&size=10', null)).statusCode, 401);
  });

  t.test('upload + confirm → GET /user shows the CDN URL, the object is under the public key', async (t) => {
    const ticket = await upload(api, 'alice');
    const res = await confirm(api, 'alice', ticket.key);
    t.equal(res.statusCode, 200, res.body);
    const { photo } = res.json() as { photo: string };
    const id = ticket.key.split('/')[2];
    t.equal(photo, `${CDN}/photos/alice/${id}`);
    t.equal((await api.req('GET', '/user', 'alice')).json().photo, photo);
    t.equal((await row('alice')).photo_key, `public/photos/alice/${id}`);
    t.same(await store.head(publicKeyOf(photo)), { contentType: 'image/jpeg', size: 2048 }, 'the CDN URL maps onto the stored key');
    t.equal(await store.head(ticket.key), null, 'the pending upload is removed after the commit');

    const again = await confirm(api, 'alice', ticket.key);
    t.equal(again.statusCode, 200, 'a retried confirm answers the same');
    t.same(again.json(), { photo });
  });

  t.test('the alias PUT /user/photo-upload-confirm', async (t) => {
    const ticket = await upload(api, 'carol', 'image/png', 10);
    const res = await api.req('PUT', '/user/photo-upload-confirm', 'carol', { key: ticket.key });
    t.equal(res.statusCode, 200, res.body);
    t.match(res.json(), { photo: `${CDN}/photos/carol/` });
  });

  t.test("confirming another user's key is refused, and changes nothing", async (t) => {
    const ticket = await upload(api, 'bob');
    const res = await confirm(api, 'mallory', ticket.key);
    t.equal(res.statusCode, 400);
    t.equal(errorCode(res), 'PHOTO_KEY_INVALID');
    t.equal((await row('mallory')).photo, null);
    t.not(await store.head(ticket.key), null, "bob's upload is untouched");
    for (const key of ['', 'x', `public/photos/mallory/${ticket.key.split('/')[2]}`, ticket.key.split('/')[2] ?? '']) {
      const r = await confirm(api, 'mallory', key);
      t.same([r.statusCode, r.statusCode === 400 ? 'refused' : r.body], [400, 'refused'], JSON.stringify(key));
    }
    t.equal((await api.req('POST', '/user/confirm-photo-upload', 'bob', { key: ticket.key, extra: 1 })).statusCode, 400, 'unknown fields');
  });

  t.test('confirming a key that was never uploaded → 404, row unchanged', async (t) => {
    const res = await api.req('GET', '/user/photo-upload-url?type=image/png&size=10', 'dave');
    const { key } = res.json() as Ticket;
    const r = await confirm(api, 'dave', key);
    t.equal(r.statusCode, 404);
    t.equal(errorCode(r), 'PHOTO_NOT_UPLOADED');
    t.equal((await row('dave')).photo, null);
  });

  t.test('replacing the photo deletes the old public object (after the row moved on)', async (t) => {
    const first = (await confirm(api, 'erin', (await upload(api, 'erin')).key)).json().photo as string;
    const second = (await confirm(api, 'erin', (await upload(api, 'erin', 'image/webp', 4096)).key)).json().photo as string;
    t.not(second, first);
    t.equal((await api.req('GET', '/user', 'erin')).json().photo, second);
    t.equal(await store.head(publicKeyOf(first)), null, 'old photo deleted');
    t.same(await store.head(publicKeyOf(second)), { contentType: 'image/webp', size: 4096 });
  });

  t.test('DELETE /user/profile-photo clears the row and deletes the object', async (t) => {
    const photo = (await confirm(api, 'frank', (await upload(api, 'frank')).key)).json().photo as string;
    const res = await api.req('DELETE', '/user/profile-photo', 'frank');
    t.equal(res.statusCode, 204);
    const r = await row('frank');
    t.same([r.photo, r.photo_key], [null, null]);
    t.equal(await store.head(publicKeyOf(photo)), null);
    t.equal((await api.req('DELETE', '/user/profile-photo', 'frank')).statusCode, 204, 'again: nothing to do, still 204');
  });

  t.test('an object that breaks the rules (a store that does not enforce the signature) is refused and deleted', async (t) => {
    // Written past the presign flow, straight through the store's own URL for another type.
    const key = (await api.req('GET', '/user/photo-upload-url?type=image/png&size=10', 'gina')).json() as Ticket;
    const forged = await store.presignUpload({ key: key.key, contentType: 'text/html', size: 10, expiresInSeconds: 60 });
    t.equal((await fetch(forged.url, { method: 'PUT', headers: forged.headers, body: bytes(10) })).status, 200);
    const res = await confirm(api, 'gina', key.key);
    t.equal(res.statusCode, 400);
    t.equal(errorCode(res), 'PHOTO_TYPE_NOT_ALLOWED');
    t.equal(await store.head(key.key), null, 'the refused upload is deleted');
    t.equal((await row('gina')).photo, null);
  });

  t.test('DELETE /user removes the photo object', async (t) => {
    const photo = (await confirm(api, 'hank', (await upload(api, 'hank')).key)).json().photo as string;
    t.equal((await api.req('DELETE', '/user', 'hank')).statusCode, 204);
    t.equal(await store.head(publicKeyOf(photo)), null);
    t.equal(await server.services.users.row('hank'), undefined);
  });
});
