import {
  CopyObjectCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors/app-error.js';
import type { PhotoStore, PresignedUpload, StoredObject } from './photo-store.js';

export interface S3PhotoStoreOptions {
  /** Explicit keys (tests, S3-compatible stores). Unset: the SDK's provider chain (AWS_ACCESS_KEY_ID…, a role). */
  credentials?: S3ClientConfig['credentials'];
}

/** Photos are never changed in place (every upload gets a new uuid key), so the CDN may cache them for good. */
const PHOTO_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** The S3 store of the configured bucket, or null when no bucket is configured (photo routes then answer 503). */
export function createS3PhotoStore(config: Config, options: S3PhotoStoreOptions = {}): S3PhotoStore | null {
  if (!config.S3_BUCKET) return null;
  const client = new S3Client({
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    credentials: options.credentials,
    // Since 3.729 the SDK adds a CRC32 of the *empty* body to presigned PUT URLs, and real stores then
    // refuse the actual upload (aws-sdk-js-v3#6994; docs/dependencies.md, "S3 presigned uploads"). Checksums only where S3 demands them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The SDK waits forever by default; a hung store must become a 502, not a hung request.
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
    maxAttempts: 3,
  });
  return new S3PhotoStore(client, config.S3_BUCKET);
}

export class S3PhotoStore implements PhotoStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async presignUpload(input: { key: string; contentType: string; size: number; expiresInSeconds: number }): Promise<PresignedUpload> {
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: input.key,
      ContentType: input.contentType,
      ContentLength: input.size,
    });
    try {
      const url = await getSignedUrl(this.client, command, {
        expiresIn: input.expiresInSeconds,
        // content-length is signed because ContentLength is set; content-type only when asked.
        // Both signed means the store refuses any other type or size.
        signableHeaders: new Set(['content-type']),
      });
      return { url, headers: { 'content-type': input.contentType, 'content-length': String(input.size) } };
    } catch (err) {
      // Presigning is local, but resolving credentials (a role, IMDS) is not.
      throw unavailable(err);
    }
  }

  async head(key: string): Promise<StoredObject | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { contentType: out.ContentType, size: out.ContentLength };
    } catch (err) {
      if (isMissing(err)) return null;
      throw unavailable(err);
    }
  }

  async copy(from: string, to: string, contentType: string): Promise<void> {
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: to,
          CopySource: `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'REPLACE',
          ContentType: contentType,
          CacheControl: PHOTO_CACHE_CONTROL,
        }),
      );
    } catch (err) {
      throw unavailable(err);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isMissing(err)) return;
      throw unavailable(err);
    }
  }

  /** Closes the client's keep-alive sockets. */
  destroy(): void {
    this.client.destroy();
  }
}

/** 404 (NotFound on HEAD, NoSuchKey elsewhere). A 403 is *not* "missing": it means the policy is wrong. */
function isMissing(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  return e?.$metadata?.httpStatusCode === 404 || e?.name === 'NotFound' || e?.name === 'NoSuchKey';
}

const unavailable = (err: unknown): AppError =>
  new AppError('STORAGE_UNAVAILABLE', 'the photo store failed or is unreachable; nothing was changed, retry later', undefined, {
    cause: err,
  });
