/**
 * The environment of a process a test starts. Its coverage is switched off: tap's processinfo
 * follows every child whatever `env` is passed (it wraps child_process and puts its loader back
 * into NODE_OPTIONS), and records the child's coverage unless `_TAPJS_PROCESSINFO_COVERAGE_` is
 * '0'. A child that loads src/ through tsx runs other transpiled code than the test processes
 * (tap's ts-node), and the report merges the two by byte offset under whichever source map it
 * read last: with every test passing, a run then reported 74% of lines instead of 96%, in about
 * one run of three (docs/dependencies.md, "tap and TypeScript").
 */
export function childEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const { NODE_OPTIONS: _o, NODE_V8_COVERAGE: _c, ...rest } = env;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = v;
  out._TAPJS_PROCESSINFO_COVERAGE_ = '0';
  return out;
}
