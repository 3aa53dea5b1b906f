import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import type { Test } from 'tap';
import { testConfig } from '../helpers/server.js';
import { createS3PhotoStore, type S3PhotoStore } from '../../src/storage/s3-photo-store.js';
import type { Config } from '../../src/config/schema.js';

/** The part of @20minutes/s3rver 4.0.4 used here; the package ships no types (and a .d.ts in this folder would be run as a test file). */
interface S3rver {
  run(): Promise<net.AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rver;
const S3rver = createRequire(import.meta.url)('@20minutes/s3rver') as S3rverClass;

export const BUCKET = 'photos-test';
export const CDN = 'https://cdn.example.test';
/** s3rver's built-in account. */
export const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * An in-process @20minutes/s3rver (it verifies SigV4 presigned URLs, PITFALLS §5) on a free port,
 * with its files in a folder of its own under .data/; both go at teardown.
 */
export async function startS3(t: Test): Promise<{ endpoint: string }> {
  await fs.mkdir('.data', { recursive: true });
  const directory = await fs.mkdtemp(path.join('.data', 's3rver-'));
  // Buckets through configureBuckets: a header-signed CreateBucket fails on this server.
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: BUCKET }] });
  const { port } = await server.run();
  t.teardown(async () => {
    await server.close();
    await fs.rm(directory, { recursive: true, force: true });
  });
  return { endpoint: `http://127.0.0.1:${port}` };
}

/** The photo settings of a server using `endpoint`. */
export const s3Env = (endpoint: string): Record<string, string> => ({
  S3_BUCKET: BUCKET,
  S3_REGION: 'us-east-1',
  S3_ENDPOINT: endpoint,
  S3_FORCE_PATH_STYLE: 'true',
  CDN_BASE_URL: CDN,
});

/** A store with explicit credentials (tests never touch process.env). */
export function s3Store(t: Test, config: Config): S3PhotoStore {
  const store = createS3PhotoStore(config, { credentials: CREDENTIALS });
  if (!store) throw new Error('S3_BUCKET is not set');
  t.teardown(() => store.destroy());
  return store;
}

export const storeFor = (t: Test, endpoint: string): S3PhotoStore => s3Store(t, testConfig(s3Env(endpoint)));

/** An endpoint nothing listens on: a port that was free a moment ago. */
export async function closedEndpoint(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** Bytes of a given length (content does not matter to the store). */
export const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(0x42);
