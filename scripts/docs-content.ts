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
    };
    const type = s.anyOf ? s.anyOf.map((o) => `\`${String(o.const)}\``).join(' \\| ') : (s.type ?? 'string');
    const def = s.default === undefined ? '—' : `\`${String(s.default)}\``;
    return [`\`${name}\``, type, def, (s.description ?? '').replace(/\|/g, '\\|')];
  });
  return table(['setting', 'type', 'default', 'meaning'], rows);
}

export function errorsMarkdown(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, e]) => [`\`${code}\``, String(e.status), e.doc]);
  return [
    '# Error codes',
    '',
    'Generated from `packages/protocol/src/errors.ts` by `npm run docs`; a test keeps the two in step. Codes are',
    'stable and never reused. HTTP errors answer `{"error": {"statusCode", "code", "message", "details?"}}`;',
    'push results carry `{"code", "message"}` in `error`; the socket sends `{"type": "error", "code", "message", "ref?"}`.',
    '',
    table(['code', 'HTTP status', 'meaning'], rows),
    '',
  ].join('\n');
}

/** A Markdown table with its columns padded, as the formatter (Biome) lays tables out. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
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
