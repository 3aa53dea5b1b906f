/** `npm run migrate [-- down [count]]`: applies (or reverts) migrations on DATABASE_URL. */
import { migrate } from '../src/db/migrate.js';

// Only DATABASE_URL matters here; the server's other settings (auth, S3) need not be present in a
// migration job, so the full config is not loaded.
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  process.stderr.write('DATABASE_URL is not set (the embedded Postgres migrates itself on `npm start`)\n');
  process.exit(2);
}
const direction = process.argv[2] === 'down' ? 'down' : 'up';
const count = process.argv[3] ? Number(process.argv[3]) : direction === 'down' ? 1 : Infinity;
const applied = await migrate(databaseUrl, { direction, count, log: (m) => process.stdout.write(`${m}\n`) });
process.stdout.write(`${direction}: ${applied.length ? applied.join(', ') : 'nothing to do'}\n`);
