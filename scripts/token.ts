/**
 * Prints a local `dev` token for a uid: `npm run -s token -- alice [--ttl 3600] [--email a@b] [--name "Alice A"]`.
 * Only the `dev` auth mode accepts it (the embedded default); production refuses that mode.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.js';
import { mintDevToken } from '../src/auth/dev-verifier.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { ttl: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' } },
});
const uid = positionals[0];
if (!uid) {
  process.stderr.write('usage: npm run -s token -- <uid> [--ttl seconds] [--email e] [--name n]\n');
  process.exit(2);
}
const config = loadConfig();
const options: Parameters<typeof mintDevToken>[2] = { ttlSeconds: values.ttl ? Number(values.ttl) : 3600 };
if (values.email) options.email = values.email;
if (values.name) options.name = values.name;
process.stdout.write(`${mintDevToken(config.DEV_AUTH_SECRET, uid, options)}\n`);
