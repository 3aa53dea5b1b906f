/**
 * Imports in `src` flow one way (docs/architecture.md, "Layers"): a module imports only from its
 * own layer or a lower one. A new upward import fails here, naming the file and the import.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';

/** Lowest first. A path is placed by its first matching prefix under `src/`. */
const LAYERS: [layer: string, prefixes: string[]][] = [
  ['foundation', ['protocol/', 'config/', 'errors/', 'log.ts', 'metrics.ts']],
  ['db and auth', ['db/', 'auth/']],
  ['sync', ['sync/', 'storage/']],
  ['realtime', ['realtime/']],
  ['http', ['http/']],
  ['entry', ['server.ts', 'main.ts', 'database.ts', 'launcher.ts']],
];

function rankOf(rel: string): number {
  return LAYERS.findIndex(([, prefixes]) => prefixes.some((p) => rel.startsWith(p)));
}

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(full)));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

const IMPORT = /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g;

t.test('every module of src has a layer and imports nothing above it', async (t) => {
  const files = await sources('src');
  t.ok(files.length > 50, `read ${files.length} modules`);
  const upward: string[] = [];
  const unplaced: string[] = [];
  for (const file of files) {
    const rel = path.relative('src', file);
    const rank = rankOf(rel);
    if (rank === -1) unplaced.push(rel);
    const text = await fs.readFile(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const target = path.relative('src', path.resolve(path.dirname(file), m[1] as string)).replace(/\.js$/, '.ts');
      const targetRank = rankOf(target);
      if (targetRank > rank) upward.push(`${rel} (${LAYERS[rank]?.[0]}) imports ${target} (${LAYERS[targetRank]?.[0]})`);
    }
  }
  t.same(unplaced, [], 'every module belongs to a layer');
  t.same(upward, [], 'no upward imports');
});

t.test('the check sees an upward import', async (t) => {
  const text = "import type { Services } from '../http/services.js';";
  const [m] = [...text.matchAll(IMPORT)];
  const target = path.relative('src', path.resolve('src/realtime', m?.[1] as string)).replace(/\.js$/, '.ts');
  t.equal(target, 'http/services.ts');
  t.ok(rankOf(target) > rankOf('realtime/hub.ts'), 'realtime → http is upward');
  t.ok(rankOf('realtime/hub.ts') < rankOf('http/routes/socket.ts'), 'http → realtime is allowed');
});
