#!/usr/bin/env node
/**
 * Repairs two outage bugs of postgres (porsager) 3.4.9, run by `postinstall` (and by the Dockerfile,
 * which installs with --ignore-scripts). Plain JavaScript: it runs before any build. Both are open
 * upstream; both were hit by the convergence suite; test/db/driver-patch.test.ts reproduces both.
 *
 * 1. Pool poisoning (upstream porsager/postgres#1208, PRs #1176/#1209, not released as of 3.4.9): small writes
 * are batched behind `setImmediate(nextWrite)`, armed only while `nextWriteTimer === null`. The two
 * teardown paths, `terminate()` and `closed()`, cancel the immediate but never reset the variable
 * (nor the buffered chunk). A connection whose socket dies with a write pending therefore keeps a
 * stale timer, and every later small write on it — the StartupMessage of each reconnect included —
 * is buffered and never sent: the connection hangs until connect_timeout, forever. Seen in the
 * convergence suite: after a 6 s Postgres outage one instance answered no query for 25 s+ and
 * /readyz timed out, while Postgres was long back. The same race makes the immediate fire after
 * `socket = null` and throw an uncaught TypeError (src/db/sql.ts still guards that).
 *
 *    Fix, as proposed upstream: reset timer and chunk where the timer is cancelled, and have
 *    `nextWrite` on a closed socket fail the pending queries (CONNECTION_CLOSED, which the server
 *    retries) instead of throwing.
 *
 * 2. A crash on reconnect (upstream porsager/postgres#1192, #1205, #1223): every new connection
 *    first queries pg_type for array types from its ReadyForQuery handler and drops the promise; if
 *    that query fails (the backend is terminated, Postgres shuts down, a statement_timeout) the
 *    rejection is unhandled and Node exits. Seen: a server restarted just as Postgres stopped died
 *    with "connect ECONNREFUSED". Fix: the dropped promise gets a handler; the connection's own
 *    error path (closed(), the query's rejection) already reports the failure.
 *
 * Idempotent (each fix has its marker); exits non-zero if the driver's text no longer matches, so
 * a version bump is reviewed rather than silently left unpatched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

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

/** Each fix: its marker, and edits of exact text (`count` occurrences expected). */
const FIXES = [
  {
    marker: '/* budget-sync: nextWrite reset fix */',
    edits: [
      {
        from: 'function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
        to:
          'function nextWrite(fn) {\n' +
          '    /* budget-sync: nextWrite reset fix */\n' +
          "    if (!socket) { chunk = nextWriteTimer = null; error(Errors.connection('CONNECTION_CLOSED', options)); return false }\n" +
          '    const x = socket.write(chunk, fn)',
        count: 1,
      },
      {
        from: '\n    clearImmediate(nextWriteTimer)\n',
        to: '\n    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n',
        count: 2,
      },
    ],
  },
  {
    marker: '/* budget-sync: fetchArrayTypes rejection fix */',
    edits: [
      {
        from: '        return fetchArrayTypes()\n',
        to: '        return fetchArrayTypes().catch(() => { /* budget-sync: fetchArrayTypes rejection fix */ })\n',
        count: 1,
      },
    ],
  },
];

let patched = 0;
for (const dir of ['src', 'cjs/src', 'cf/src']) {
  const file = path.join(root, dir, 'connection.js');
  if (!fs.existsSync(file)) continue;
  const original = fs.readFileSync(file, 'utf8');
  let text = original;
  for (const fix of FIXES) {
    if (text.includes(fix.marker)) continue;
    for (const edit of fix.edits) {
      const found = text.split(edit.from).length - 1;
      if (found !== edit.count) {
        process.stderr.write(
          `patch-postgres: ${path.relative(process.cwd(), file)} (postgres ${version}) does not look like 3.4.9 ` +
            `(${JSON.stringify(edit.from.trim().slice(0, 40))} found ${found}×, expected ${edit.count}×); ` +
            'check whether upstream fixed porsager/postgres#1208 and #1192 and update scripts/patch-postgres.mjs\n',
        );
        process.exit(1);
      }
      text = text.split(edit.from).join(edit.to);
    }
  }
  if (text !== original) {
    fs.writeFileSync(file, text);
    patched++;
  }
}
if (patched) process.stdout.write(`patch-postgres: patched ${patched} build(s) of postgres ${version}\n`);
