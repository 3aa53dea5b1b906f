import fs from 'node:fs/promises';
import t from 'tap';
import { AppError } from '../../src/errors/app-error.js';
import { ERROR_CODES } from '../../src/errors/codes.js';
import { configTable, errorsMarkdown, replaceBetween } from '../../scripts/docs-content.js';

t.test('error codes are UPPER_SNAKE, documented, and have a client or server status', async (t) => {
  for (const [code, e] of Object.entries(ERROR_CODES)) {
    t.match(code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/, `${code} is UPPER_SNAKE`);
    t.ok(e.status >= 400 && e.status < 600, `${code} status`);
    t.ok(e.doc.length > 10, `${code} is documented`);
  }
});

t.test('docs/errors.md and the README settings table are generated from the code (npm run docs)', async (t) => {
  t.equal(await fs.readFile('docs/errors.md', 'utf8'), errorsMarkdown(), 'docs/errors.md is current');
  const readme = await fs.readFile('README.md', 'utf8');
  t.equal(replaceBetween(readme, 'settings', configTable()), readme, 'README settings table is current');
});

t.test('AppError serialises to the protocol envelope', async (t) => {
  t.same(new AppError('NOT_OWNER', 'no').toJSON(), { statusCode: 403, code: 'NOT_OWNER', message: 'no' });
  t.same(new AppError('VALIDATION_FAILED', 'bad', [{ path: '/a', message: 'm' }]).toJSON(), {
    statusCode: 400,
    code: 'VALIDATION_FAILED',
    message: 'bad',
    details: [{ path: '/a', message: 'm' }],
  });
  t.equal(new AppError('RATE_LIMITED', 'x', undefined, { statusCode: 429 }).statusCode, 429);
});
