/**
 * What the photo flow needs from an object store. S3 stays behind this interface
 * (s3-photo-store.ts) so the flow and its tests do not depend on the SDK or on one fake server.
 *
 * Failures of the store itself (unreachable, 5xx, refused credentials) are thrown as
 * AppError('STORAGE_UNAVAILABLE'); "no such object" is not a failure (head → null, delete → ok).
 */
export interface PhotoStore {
  /**
   * A URL that lets its holder PUT exactly one object: this key, this content type and this size,
   * until it expires. `headers` are the request headers the client must send as they are.
   */
  presignUpload(input: { key: string; contentType: string; size: number; expiresInSeconds: number }): Promise<PresignedUpload>;
  /** The stored type and size of an object, or null when there is none. */
  head(key: string): Promise<StoredObject | null>;
  /** Copies `from` to `to` (same bucket), storing `contentType` and a long cache lifetime. */
  copy(from: string, to: string, contentType: string): Promise<void>;
  /** Deletes an object; deleting a missing one succeeds. */
  delete(key: string): Promise<void>;
}

export interface PresignedUpload {
  url: string;
  headers: Record<string, string>;
}

export interface StoredObject {
  contentType: string | undefined;
  size: number | undefined;
}
