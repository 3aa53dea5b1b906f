/**
 * `npm run docs`: regenerates what is generated from code — docs/errors.md from the error codes,
 * the settings table in README.md from the config schema — and, with `--schema`, test/schema.txt
 * from a freshly migrated database. Tests check each is in step, so a change to codes, settings or
 * migrations without its docs fails CI.
 */
import fs from 'node:fs/promises';
import { configTable, errorsMarkdown, replaceBetween } from './docs-content.js';

const readme = await fs.readFile('README.md', 'utf8');
await fs.writeFile('README.md', replaceBetween(readme, 'settings', configTable()));
await fs.writeFile('docs/errors.md', errorsMarkdown());
process.stdout.write('wrote README.md settings table and docs/errors.md\n');
