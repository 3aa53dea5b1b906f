import { ConfigSchema } from '../src/config/schema.js';
import { ERROR_CODES } from '../src/errors/codes.js';

/** Markdown generated from code, so the docs cannot drift from it (tests compare). */

export function configTable(): string {
  const rows = Object.entries(ConfigSchema.properties).map(([name, schema]) => {
    const s = schema as {
      type?: string;
      anyOf?: { const?: unknown }[];
      default?: unknown;
      description?: string;
      minimum?: number;
      maximum?: number;
      secret?: boolean;
    };
    const type = s.anyOf ? s.anyOf.map((o) => `\`${String(o.const)}\``).join(' \\| ') : (s.type ?? 'string');
    const def = s.default === undefined ? '—' : `\`${String(s.default)}\``;
    const meaning = `${s.description ?? ''}${s.secret ? ' **Secret:** never printed, not even when invalid.' : ''}`;
    return `| \`${name}\` | ${type} | ${def} | ${meaning.replace(/\|/g, '\\|')} |`;
  });
  return ['| setting | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export function errorsMarkdown(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.doc} |`);
  return [
    '# Error codes',
    '',
    'Generated from `packages/protocol/src/errors.ts` by `npm run docs`; a test keeps the two in step. Codes are',
    'stable and never reused. HTTP errors answer `{"error": {"statusCode", "code", "message", "details?"}}`;',
    'push results carry `{"code", "message"}` in `error`; the socket sends `{"type": "error", "code", "message", "ref?"}`.',
    '',
    '| code | HTTP status | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function replaceBetween(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i === -1 || j < i) throw new Error(`markers ${start} … ${end} not found`);
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`;
}
