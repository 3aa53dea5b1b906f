/**
 * `npm run docs`: regenerates what is generated from code — docs/errors.md from the error codes,
 * the settings table in README.md from the config schema, docs/openapi.json from the routes' schemas
 * and docs/asyncapi.yaml from the socket's message schemas. Tests check each is in step, so a change
 * to codes, settings, routes or messages without its docs fails CI.
 */
import fs from 'node:fs/promises';
import { asyncApiYaml } from './docs-asyncapi.js';
import { configTable, errorsMarkdown, replaceBetween } from './docs-content.js';
import { openApiJson } from './docs-openapi.js';

const readme = await fs.readFile('README.md', 'utf8');
await fs.writeFile('README.md', replaceBetween(readme, 'settings', configTable()));
await fs.writeFile('docs/errors.md', errorsMarkdown());
await fs.writeFile('docs/openapi.json', await openApiJson());
await fs.writeFile('docs/asyncapi.yaml', asyncApiYaml());
process.stdout.write('wrote README.md settings table, docs/errors.md, docs/openapi.json and docs/asyncapi.yaml\n');
