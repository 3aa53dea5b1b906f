import t from 'tap';
import { Api } from '../helpers/api.js';
import { AppError } from '../../src/errors/app-error.js';
import type { UserRow } from '../../src/db/rows.js';
import type { PhotoStore } from '../../src/storage/photo-store.js';
import { photoCleanup } from '../../src/storage/photos.js';
import { CDN, bytes, closedEndpoint, s3Env, startS3, storeFor } from './fixtures/s3.js';
import { startPhotoServer } from './fixtures/server.js';

/**
 * Whatever fails, the users row never points at an object that does not exist
 * (deleting the old photo before the database update would break that).
 */
t.test('failures of the store or the database', async (t) => {
  const { endpoint } = await startS3(t);
  const store = storeFor(t, endpoint);
  // A store that fails on demand, around the real one.
  const failing = new Set<'copy' | 'delete'>();
  const flaky: PhotoStore = {
    presignUpload: (input) => store.presignUpload(input),
    head: (key) => store.head(key),
    copy: async (from, to, type) => {
      // What the S3 store throws for a 5xx or a network error (the PhotoStore contract).
      if (failing.has('copy')) throw new AppError('STORAGE_UNAVAILABLE', 'injected');
      return store.copy(from, to, type);
    },
    delete: async (key) => {
      if (failing.has('delete')) throw new Error('injected');
      return store.delete(key);
    },
  };
  const server = await startPhotoServer(t, s3Env(endpoint), flaky);
  const api = new Api(server.app);
  const row = async (uid: string) => (await server.services.users.row(uid)) as UserRow;

  const upload = async (uid: string): Promise<string> => {
    const ticket = (await api.req('GET', '/user/photo-upload-url?type=image/png&size=100', uid)).json() as {
      url: string;
      key: string;
      headers: Record<string, string>;
    };
    const put = await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: bytes(100) });
    if (put.status !== 200) throw new Error(`PUT ${put.status}`);
    return ticket.key;
  };
  const confirm = (uid: string, key: string) => api.req('POST', '/user/confirm-photo-upload', uid, { key });
  const publicOf = (pending: string) => pending.replace(/^pending\//, 'public/photos/');

  // alice has a photo that every failure below must leave in place.
  t.equal((await confirm('alice', await upload('alice'))).statusCode, 200);

  t.test('copy fails → 502, row and objects unchanged; a retry then succeeds', async (t) => {
    const before = await row('alice');
    const key = await upload('alice');
    failing.add('copy');
    const res = await confirm('alice', key);
    failing.delete('copy');
    t.equal(res.statusCode, 502);
    t.equal(res.json().error.code, 'STORAGE_UNAVAILABLE');
    t.same(await row('alice'), before);
    t.not(await store.head(before.photo_key as string), null, 'the current photo is still there');
    t.not(await store.head(key), null, 'the upload is kept for a retry');
    t.equal((await confirm('alice', key)).statusCode, 200);
    t.equal((await row('alice')).photo_key, publicOf(key));
  });

  t.test('the database update fails after the copy → 500, row unchanged, the copy is removed', async (t) => {
    const before = await row('alice');
    const key = await upload('alice');
    await server.services.sql.unsafe(`
      CREATE FUNCTION refuse_photo() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$;
      CREATE TRIGGER refuse_photo BEFORE UPDATE OF photo_key ON users FOR EACH ROW EXECUTE FUNCTION refuse_photo();`);
    const res = await confirm('alice', key);
    await server.services.sql.unsafe('DROP TRIGGER refuse_photo ON users; DROP FUNCTION refuse_photo();');
    t.equal(res.statusCode, 500);
    t.same(await row('alice'), before);
    t.not(await store.head(before.photo_key as string), null, 'the current photo was not touched');
    t.equal(await store.head(publicOf(key)), null, 'the orphaned copy was deleted');
    t.not(await store.head(key), null, 'the upload is kept for a retry');
  });

  t.test('deletes after the commit are best effort: the confirm still succeeds', async (t) => {
    const key = await upload('alice');
    const current = (await row('alice')).photo_key as string;
    failing.add('delete');
    const res = await confirm('alice', key);
    failing.delete('delete');
    t.equal(res.statusCode, 200);
    t.equal((await row('alice')).photo_key, publicOf(key));
    t.not(await store.head(publicOf(key)), null, 'the row points at an existing object');
    t.not(await store.head(current), null, 'the old photo is orphaned (logged), never the new one deleted');
  });

  t.test('the account is deleted between upload and confirm → 404, nothing left behind', async (t) => {
    const key = await upload('ivan');
    // Behind the server's back, as another instance's DELETE /user would.
    await server.services.sql`DELETE FROM users WHERE id = 'ivan'`;
    const res = await confirm('ivan', key);
    t.equal(res.statusCode, 404);
    t.equal(res.json().error.code, 'USER_NOT_FOUND');
    t.equal(await store.head(publicOf(key)), null, 'the copy is deleted');
    t.equal(await store.head(key), null, 'the upload is deleted');
  });

  t.test('S3 unreachable → 502 and the row unchanged', async (t) => {
    const down = storeFor(t, await closedEndpoint());
    const other = await startPhotoServer(t, s3Env('http://unused.invalid'), down, server.url);
    const otherApi = new Api(other.app);
    const unchanged = await row('alice');
    const key = await upload('alice');

    const started = Date.now();
    const res = await otherApi.req('POST', '/user/confirm-photo-upload', 'alice', { key });
    t.equal(res.statusCode, 502);
    t.equal(res.json().error.code, 'STORAGE_UNAVAILABLE');
    t.ok(Date.now() - started < 5000, 'fails fast (connection refused, a few retries)');
    t.same(await row('alice'), unchanged);

    // Presigning needs no round trip, so a URL can still be handed out.
    t.equal((await otherApi.req('GET', '/user/photo-upload-url?type=image/png&size=10', 'alice')).statusCode, 200);

    // Account deletion is not best effort: the photo would stay public.
    await t.rejects(other.services.users.delete('alice', photoCleanup(down)), { code: 'STORAGE_UNAVAILABLE' });
    t.not(await row('alice'), undefined, 'the account is still there to retry');

    // Removing the photo clears the row first; the object stays behind (logged) — never the reverse.
    t.equal((await otherApi.req('DELETE', '/user/profile-photo', 'alice')).statusCode, 204);
    t.same([(await row('alice')).photo, (await row('alice')).photo_key], [null, null]);
    t.not(await store.head(unchanged.photo_key as string), null);
    t.ok(unchanged.photo?.startsWith(CDN));
  });
});
