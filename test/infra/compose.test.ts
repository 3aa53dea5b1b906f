/**
 * docker-compose.yml is for a developer's machine: nothing it publishes (nginx, MinIO with its
 * well-known root account, the apps, Postgres) may listen beyond loopback.
 */
import fs from 'node:fs/promises';
import t from 'tap';

t.test('every port docker-compose.yml publishes is bound to 127.0.0.1', async (t) => {
  const lines = (await fs.readFile('docker-compose.yml', 'utf8')).split('\n');
  const published: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s+ports:\s*$/.test(lines[i] as string)) continue;
    const indent = /^\s*/.exec(lines[i] as string)?.[0].length ?? 0;
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j] as string;
      if (line.trim() === '' || line.trim().startsWith('#')) continue;
      if ((/^\s*/.exec(line)?.[0].length ?? 0) <= indent && !line.trim().startsWith('-')) break;
      const entry = /^\s*-\s*"?([^"#]+?)"?\s*(#.*)?$/.exec(line);
      if (!entry) break;
      published.push(entry[1] as string);
    }
  }
  t.ok(published.length >= 6, `found the published ports: ${published.join(', ')}`);
  for (const p of published) t.match(p, /^127\.0\.0\.1:/, `${p} is loopback only`);
});
