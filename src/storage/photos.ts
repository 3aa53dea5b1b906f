import { randomUUID } from 'node:crypto';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../log.js';
import type { PhotoCleanup } from '../sync/users.js';
import { clearPhoto, currentPhotoKey, setPhoto } from './photo-db.js';
import {
  MAX_PHOTO_BYTES,
  PHOTO_TYPES,
  isPhotoType,
  isPublicKeyOf,
  parsePendingKey,
  pendingKey,
  publicKey,
  publicKeyToCdnUrl,
} from './photo-keys.js';
import type { PhotoStore } from './photo-store.js';

export interface UploadTicket {
  url: string;
  key: string;
  expiresInSeconds: number;
  headers: Record<string, string>;
}

export interface PhotosOptions {
  cdnBaseUrl: string;
  uploadTtlSeconds: number;
}

/**
 * The profile-photo flow (docs/protocol.md, "Users"): presign → client PUTs → confirm → copy to public.
 *
 * The rule that orders every step: the users row must never point at an object that does not exist.
 * So objects are created before the row points at them, and deleted only after the row stopped
 * pointing at them (after the commit). A failure anywhere leaves the previous photo in place; at
 * worst an unreferenced object stays behind (pending/ expires by lifecycle rule, orphans are logged).
 */
export class Photos {
  constructor(
    private readonly store: PhotoStore,
    private readonly sql: Sql,
    private readonly options: PhotosOptions,
    private readonly log: Logger,
  ) {}

  /** A presigned PUT for a fresh key under the caller's own pending prefix. Type and size are signed. */
  async uploadUrl(uid: string, type: string, size: number): Promise<UploadTicket> {
    const contentType = type.trim().toLowerCase();
    if (!isPhotoType(contentType)) throw new AppError('PHOTO_TYPE_NOT_ALLOWED', `photos must be one of ${PHOTO_TYPES.join(', ')}`);
    if (size > MAX_PHOTO_BYTES) throw new AppError('PHOTO_TOO_LARGE', `photos are at most ${MAX_PHOTO_BYTES} bytes`);
    const key = pendingKey(uid, randomUUID());
    const expiresInSeconds = this.options.uploadTtlSeconds;
    const { url, headers } = await this.store.presignUpload({ key, contentType, size, expiresInSeconds });
    return { url, key, expiresInSeconds, headers };
  }

  /** Makes an uploaded object the caller's photo. Safe to retry: a confirmed key answers the same URL again. */
  async confirm(uid: string, key: string): Promise<{ photo: string }> {
    // The binding between presign and confirm: only keys under the caller's own pending prefix.
    const uploadId = parsePendingKey(key, uid);
    if (!uploadId) throw new AppError('PHOTO_KEY_INVALID', 'the key is not a pending upload key of this user');
    const target = publicKey(uid, uploadId);
    const photo = publicKeyToCdnUrl(this.options.cdnBaseUrl, target);

    const stored = await this.store.head(key);
    if (!stored) {
      // A retry after a confirm that succeeded (and removed the pending object) gets the same answer.
      if ((await currentPhotoKey(this.sql, uid)) === target) return { photo };
      throw new AppError('PHOTO_NOT_UPLOADED', 'nothing was uploaded under this key (or the upload URL expired)');
    }
    // The signature already pins type and size on S3; this guards stores that do not check it.
    const contentType = stored.contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
    const refusal = !isPhotoType(contentType)
      ? new AppError('PHOTO_TYPE_NOT_ALLOWED', `the uploaded object is ${contentType || 'untyped'}, not one of ${PHOTO_TYPES.join(', ')}`)
      : stored.size === undefined || stored.size < 1
        ? new AppError('PHOTO_NOT_UPLOADED', 'the uploaded object is empty')
        : stored.size > MAX_PHOTO_BYTES
          ? new AppError('PHOTO_TOO_LARGE', `the uploaded object is larger than ${MAX_PHOTO_BYTES} bytes`)
          : undefined;
    if (refusal) {
      await this.discard(key, 'refused upload');
      throw refusal;
    }

    await this.store.copy(key, target, contentType);
    let replaced: { previousKey: string | null } | undefined;
    try {
      replaced = await setPhoto(this.sql, uid, photo, target);
    } catch (err) {
      // The row still points at the previous photo; the copy is referenced by nothing.
      await this.discard(target, 'copy of a confirm whose database update failed');
      throw err;
    }
    if (!replaced) {
      // The account was deleted meanwhile.
      await this.discard(target, 'copy for a deleted user');
      await this.discard(key, 'upload of a deleted user');
      throw new AppError('USER_NOT_FOUND', 'no such user');
    }

    // Committed: the old photo and the upload are unreferenced now, so deleting them cannot break the row.
    const old = replaced.previousKey;
    if (old && old !== target) {
      if (isPublicKeyOf(old, uid)) await this.discard(old, 'replaced photo');
      else this.log.warn({ uid, key: old }, "replaced photo key is outside the user's photo prefix; left in place");
    }
    await this.discard(key, 'confirmed upload');
    return { photo };
  }

  /** Removes the caller's photo: the row first, then (best effort) the object. */
  async remove(uid: string): Promise<void> {
    const old = await clearPhoto(this.sql, uid);
    if (old && isPublicKeyOf(old, uid)) await this.discard(old, 'removed photo');
  }

  /** Best-effort delete after the row no longer refers to `key`: a failure only leaves an orphan, so it is logged, not thrown. */
  private async discard(key: string, what: string): Promise<void> {
    try {
      await this.store.delete(key);
    } catch (err) {
      this.log.error({ err, key }, `could not delete ${what}; the object is orphaned`);
    }
  }
}

/**
 * Account deletion (Users.delete calls it before deleting the row). Unlike a photo change this is
 * not best effort: the photo would stay public after the account is gone, so a store failure fails
 * the deletion (502) and the client retries; the retry is idempotent.
 */
export function photoCleanup(store: PhotoStore): PhotoCleanup {
  return async (user) => {
    if (user.photo_key && isPublicKeyOf(user.photo_key, user.id)) await store.delete(user.photo_key);
  };
}
