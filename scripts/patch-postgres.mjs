#!/usr/bin/env node
/**
 * Repairs a pool-poisoning bug in postgres (porsager) 3.4.9, run by `postinstall` (and by the
 * Dockerfile, which installs with --ignore-scripts). Plain JavaScript: it runs before any build.
 *
 * The bug (upstream porsager/postgres#1208, PRs #1176/#1209, not released as of 3.4.9): small writes
 * are batched behind `setImmediate(nextWrite)`, armed only while `nextWriteTimer === null`. The two
 * teardown paths, `terminate()` and `closed()`, cancel the immediate but never reset the variable
 * (nor the buffered chunk). A connection whose socket dies with a write pending therefore keeps a
 * stale timer, and every later small write on it — the StartupMessage of each reconnect included —
 * is buffered and never sent: the connection hangs until connect_timeout, forever. Seen in the
 * convergence suite: after a 6 s Postgres outage one instance answered no query for 25 s+ and
 * /readyz timed out, while Postgres was long back. The same race makes the immediate fire after
 * `socket = null` and throw an uncaught TypeError (src/db/sql.ts still guards that).
 *
 * The fix is the upstream one: reset timer and chunk where the timer is cancelled, and have
 * `nextWrite` on a closed socket fail the pending queries (CONNECTION_CLOSED, which the server
 * retries) instead of throwing. Idempotent; exits non-zero if the driver's text no longer matches,
 * so a version bump is reviewed rather than silently left unpatched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const MARKER = '/* budget-sync: nextWrite reset fix */';
const require = createRequire(import.meta.url);

// The package's `exports` hide package.json, so resolve its entry and walk up to the package root.
let root;
try {
  root = path.dirname(require.resolve('postgres'));
} catch {
  process.stderr.write('patch-postgres: the postgres package is not installed; nothing patched\n');
  process.exit(0);
}
const manifest = (dir) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  } catch {
    return undefined;
  }
};
// cjs/ carries its own {"type":"commonjs"} package.json: stop at the one named postgres.
while (manifest(root)?.name !== 'postgres' && path.dirname(root) !== root) root = path.dirname(root);

const version = manifest(root)?.version;
let patched = 0;
for (const dir of ['src', 'cjs/src', 'cf/src']) {
  const file = path.join(root, dir, 'connection.js');
  if (!fs.existsSync(file)) continue;
  let text = fs.readFileSync(file, 'utf8');
  if (text.includes(MARKER)) continue;

  const guard = 'function nextWrite(fn) {\n    const x = socket.write(chunk, fn)';
  const resets = text.match(/^ {4}clearImmediate\(nextWriteTimer\)$/gm) ?? [];
  if (!text.includes(guard) || resets.length !== 2) {
    process.stderr.write(
      `patch-postgres: ${path.relative(process.cwd(), file)} (postgres ${version}) does not look like 3.4.9; ` +
        'check whether upstream fixed the nextWriteTimer reset (porsager/postgres#1208) and update scripts/patch-postgres.mjs\n',
    );
    process.exit(1);
  }
  text = text.replace(
    guard,
    'function nextWrite(fn) {\n' +
      `    ${MARKER}\n` +
      "    if (!socket) { chunk = nextWriteTimer = null; error(Errors.connection('CONNECTION_CLOSED', options)); return false }\n" +
      '    const x = socket.write(chunk, fn)',
  );
  text = text.replace(/^ {4}clearImmediate\(nextWriteTimer\)$/gm, '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null');
  fs.writeFileSync(file, text);
  patched++;
}
if (patched) process.stdout.write(`patch-postgres: patched ${patched} build(s) of postgres ${version} (nextWrite reset fix)\n`);
