import t from 'tap';
import {
  cdnUrlToPublicKey,
  isPublicKeyOf,
  parsePendingKey,
  pendingKey,
  publicKey,
  publicKeyToCdnUrl,
  userSegment,
} from '../../src/storage/photo-keys.js';

const ID = '0b7c8a3e-5d4f-4e21-9a6b-2c1d3e4f5a6b';
const CDN = 'https://cdn.example.test';

t.test('the layout: pending/<uid>/<uuid>, public/photos/<uid>/<uuid>, CDN path = key minus "public"', async (t) => {
  t.equal(pendingKey('alice', ID), `pending/alice/${ID}`);
  t.equal(publicKey('alice', ID), `public/photos/alice/${ID}`);
  t.equal(publicKeyToCdnUrl(CDN, publicKey('alice', ID)), `${CDN}/photos/alice/${ID}`);
  t.equal(publicKeyToCdnUrl(`${CDN}/`, publicKey('alice', ID)), `${CDN}/photos/alice/${ID}`, 'a trailing slash on the base is ignored');
  t.equal(publicKeyToCdnUrl(`${CDN}/img`, publicKey('alice', ID)), `${CDN}/img/photos/alice/${ID}`, 'a base with a path keeps it');
  t.throws(() => publicKeyToCdnUrl(CDN, pendingKey('alice', ID)), 'a pending key has no CDN URL');
});

t.test('key ⇄ CDN URL round-trips, also for uids that need escaping', async (t) => {
  for (const uid of ['alice', 'Zk3xQ9a_b-c', 'a/b', '..', '.', 'ä ö%', '😀', 'x'.repeat(128)]) {
    const key = publicKey(uid, ID);
    const url = publicKeyToCdnUrl(CDN, key);
    t.equal(cdnUrlToPublicKey(CDN, url), key, `uid ${JSON.stringify(uid)}`);
    t.equal(new URL(url).pathname.split('/').length, 4, `uid ${JSON.stringify(uid)} stays one path segment`);
    t.equal(key.split('/').length, 4, `uid ${JSON.stringify(uid)} stays one key segment`);
  }
  t.equal(userSegment('a/b'), 'a%2Fb');
  t.equal(userSegment('..'), '%2E%2E', 'a uid can never be a dot segment');
  t.not(userSegment('a/b'), userSegment('a%2Fb'), 'escaping is one-to-one');
});

t.test('cdnUrlToPublicKey refuses URLs that are not photos of this CDN', async (t) => {
  for (const url of [
    `https://other.test/photos/alice/${ID}`,
    `${CDN}/pending/alice/${ID}`,
    `${CDN}/photos/alice/not-a-uuid`,
    `${CDN}/photos/alice/${ID}/extra`,
    `${CDN}/photos/a%2Fb/${ID}`, // decodes to a "/" inside the user segment
    `${CDN}/photos/%E0%A4%A/${ID}`, // malformed escape
    `${CDN}/photos//${ID}`,
  ]) {
    t.equal(cdnUrlToPublicKey(CDN, url), undefined, url);
  }
});

t.test('a pending key is accepted only for its own user and only in the exact form', async (t) => {
  t.equal(parsePendingKey(`pending/alice/${ID}`, 'alice'), ID);
  t.equal(parsePendingKey(`pending/alice/${ID}`, 'bob'), undefined, "another user's key");
  t.equal(parsePendingKey(`pending/alice/${ID}`, 'ali'), undefined, 'a uid that is a prefix of another');
  t.equal(parsePendingKey(`pending/a/b/${ID}`, 'a'), undefined, 'nested path');
  t.equal(parsePendingKey(`pending/a%2Fb/${ID}`, 'a/b'), ID, 'an escaped uid');
  t.equal(parsePendingKey(`public/photos/alice/${ID}`, 'alice'), undefined, 'a public key');
  t.equal(parsePendingKey(`pending/alice/${ID.toUpperCase()}`, 'alice'), undefined, 'upper-case uuid (never issued)');
  t.equal(parsePendingKey(`pending/alice/${ID}/../x`, 'alice'), undefined, 'trailing path');
  t.equal(parsePendingKey(ID, 'alice'), undefined, 'a bare uuid (the original service)');
});

t.test('isPublicKeyOf guards which objects a photo change may delete', async (t) => {
  t.ok(isPublicKeyOf(`public/photos/alice/${ID}`, 'alice'));
  t.notOk(isPublicKeyOf(`public/photos/bob/${ID}`, 'alice'));
  t.notOk(isPublicKeyOf(`pending/alice/${ID}`, 'alice'));
  t.notOk(isPublicKeyOf(`public/user-photos/alice/${ID}`, 'alice'));
});
