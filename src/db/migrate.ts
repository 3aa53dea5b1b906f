import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

/** `migrations/` at the project root, found from src/db (tsx) or dist/src/db (built). */
export const MIGRATIONS_DIR = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'migrations');
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
  }
  throw new Error('migrations/ folder not found above src/db');
})();

/**
 * Applies (or reverts) migrations with node-pg-migrate. It holds an advisory lock, so two
 * instances migrating at once fail fast instead of racing; deployments run `npm run migrate`.
 */
export async function migrate(
  databaseUrl: string,
  options: { direction?: 'up' | 'down'; count?: number; log?: (msg: string) => void } = {},
): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: options.direction ?? 'up',
    count: options.count ?? Infinity,
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    checkOrder: true,
    verbose: false,
    log: options.log ?? (() => {}),
  });
  return applied.map((m) => m.name);
}
