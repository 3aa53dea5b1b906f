/**
 * The object layout of profile photos, as pure functions (no S3, no config reads):
 *   pending upload   pending/<user>/<uuid>          (private; expired by a bucket lifecycle rule)
 *   public photo     public/photos/<user>/<uuid>
 *   CDN URL          <CDN_BASE_URL>/photos/<user>/<uuid>
 * The CDN's origin path is `/public` (infra/terraform/modules/photo-storage/cdn.tf), so a CDN path is
 * the key without its `public` segment. Stripping `public/` without that origin path yields URLs that
 * point at nothing, so the mapping lives only here and its tests pin it.
 */

export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;
export type PhotoType = (typeof PHOTO_TYPES)[number];
export const MAX_PHOTO_BYTES = 5 * 1024 * 1024;

export const isPhotoType = (v: string): v is PhotoType => (PHOTO_TYPES as readonly string[]).includes(v);

const PENDING = 'pending';
const PUBLIC = 'public';
const PHOTOS = 'photos';
/** Upload ids are generated here (randomUUID), so only the lowercase form is ever valid. */
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What userSegment produces: safe characters and %XX escapes only. */
const SEGMENT = /^(?:[A-Za-z0-9_-]|%[0-9A-F]{2})+$/;

/**
 * A user id as one key segment. Firebase uids are usually [A-Za-z0-9]; anything else (`/`, `.`,
 * `%`, non-ASCII) is percent-encoded so a uid can never add a segment or be `..`, and the mapping
 * stays one-to-one. Identity for ordinary uids.
 */
export function userSegment(uid: string): string {
  return uid.replace(/[^A-Za-z0-9_-]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

export const pendingKey = (uid: string, uploadId: string): string => `${PENDING}/${userSegment(uid)}/${uploadId}`;
export const publicKey = (uid: string, uploadId: string): string => `${PUBLIC}/${PHOTOS}/${userSegment(uid)}/${uploadId}`;

/** The upload id of `key` if it is exactly one of `uid`'s pending keys; a key of anyone else is undefined. */
export function parsePendingKey(key: string, uid: string): string | undefined {
  const prefix = `${PENDING}/${userSegment(uid)}/`;
  if (!key.startsWith(prefix)) return undefined;
  const id = key.slice(prefix.length);
  return UPLOAD_ID.test(id) ? id : undefined;
}

/** True when `key` is one of `uid`'s public photo keys: the only objects a photo change may delete. */
export function isPublicKeyOf(key: string, uid: string): boolean {
  const prefix = `${PUBLIC}/${PHOTOS}/${userSegment(uid)}/`;
  return key.startsWith(prefix) && UPLOAD_ID.test(key.slice(prefix.length));
}

const trimBase = (base: string): string => base.replace(/\/+$/, '');

/** `public/photos/u/id` → `<base>/photos/u/id`. Each segment is URL-encoded (an encoded uid's `%` becomes `%25`). */
export function publicKeyToCdnUrl(cdnBaseUrl: string, key: string): string {
  if (!key.startsWith(`${PUBLIC}/`)) throw new Error(`not a public key: ${key}`);
  const path = key
    .slice(PUBLIC.length + 1)
    .split('/')
    .map(encodeURIComponent)
    .join('/');
  return `${trimBase(cdnBaseUrl)}/${path}`;
}

/** The inverse of publicKeyToCdnUrl; undefined for a URL that is not a photo under this CDN. */
export function cdnUrlToPublicKey(cdnBaseUrl: string, url: string): string | undefined {
  const base = `${trimBase(cdnBaseUrl)}/`;
  if (!url.startsWith(base)) return undefined;
  let segments: string[];
  try {
    segments = url.slice(base.length).split('/').map(decodeURIComponent);
  } catch {
    return undefined; // malformed percent-encoding
  }
  const [photos, user, id, ...rest] = segments;
  const valid = photos === PHOTOS && user !== undefined && SEGMENT.test(user) && id !== undefined && UPLOAD_ID.test(id);
  if (!valid || rest.length > 0) return undefined;
  return `${PUBLIC}/${PHOTOS}/${user}/${id}`;
}
