/** `npm run migrate [-- down [count]]`: applies (or reverts) migrations on DATABASE_URL. */
import { loadConfig } from '../src/config/load.js';
import { migrate } from '../src/db/migrate.js';

const config = loadConfig();
if (!config.DATABASE_URL) {
  process.stderr.write('DATABASE_URL is not set (the embedded Postgres migrates itself on `npm start`)\n');
  process.exit(2);
}
const direction = process.argv[2] === 'down' ? 'down' : 'up';
const count = process.argv[3] ? Number(process.argv[3]) : direction === 'down' ? 1 : Infinity;
const applied = await migrate(config.DATABASE_URL, { direction, count, log: (m) => process.stdout.write(`${m}\n`) });
process.stdout.write(`${direction}: ${applied.length ? applied.join(', ') : 'nothing to do'}\n`);
