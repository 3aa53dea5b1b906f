import { Value } from '@sinclair/typebox/value';
import { DEV_ORIGINS, originProblems, splitOrigins } from './origins.js';
import { ConfigSchema, type Config } from './schema.js';

/** Thrown with every problem of the environment at once, so an operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads the settings from `env` (default `process.env`): only keys of the schema, empty strings as
 * unset, converted, defaulted, validated and frozen. The only place that reads `process.env`.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw));
  const problems = [...Value.Errors(ConfigSchema, converted)].map(
    (e) => `${e.path.slice(1)}: ${e.message} (got ${JSON.stringify(e.value)})`,
  );
  if (problems.length === 0) problems.push(...crossChecks(converted as Config));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(converted as Config);
}

/** The effective auth mode: explicit, or derived from which Firebase settings are present. */
export function authMode(config: Config): 'firebase' | 'emulator' | 'dev' {
  if (config.AUTH_MODE) return config.AUTH_MODE;
  if (config.FIREBASE_AUTH_EMULATOR_HOST) return 'emulator';
  if (config.FIREBASE_PROJECT_ID) return 'firebase';
  return 'dev';
}

function crossChecks(config: Config): string[] {
  const problems: string[] = [];
  const mode = authMode(config);
  if (config.NODE_ENV === 'production') {
    if (mode === 'dev') problems.push('AUTH_MODE: `dev` tokens are refused when NODE_ENV=production; set FIREBASE_PROJECT_ID');
    if (!config.DATABASE_URL) problems.push('DATABASE_URL: required when NODE_ENV=production (the embedded Postgres is for development)');
  }
  if ((mode === 'firebase' || mode === 'emulator') && !config.FIREBASE_PROJECT_ID) {
    problems.push(`FIREBASE_PROJECT_ID: required for AUTH_MODE=${mode}`);
  }
  if (mode === 'emulator' && !config.FIREBASE_AUTH_EMULATOR_HOST) {
    problems.push('FIREBASE_AUTH_EMULATOR_HOST: required for AUTH_MODE=emulator');
  }
  if (config.WS_HARD_LIMIT_BYTES <= config.WS_HIGH_WATER_BYTES) {
    problems.push('WS_HARD_LIMIT_BYTES: must be larger than WS_HIGH_WATER_BYTES');
  }
  if (config.S3_BUCKET && !config.CDN_BASE_URL) problems.push('CDN_BASE_URL: required when S3_BUCKET is set');
  if (config.CORS_ORIGINS) problems.push(...originProblems(config.CORS_ORIGINS).map((p) => `CORS_ORIGINS: ${p}`));
  return problems;
}

/** The origins browsers may call from: CORS_ORIGINS, else local dev servers outside production. */
export function corsOrigins(config: Config): string[] {
  if (config.CORS_ORIGINS) return splitOrigins(config.CORS_ORIGINS);
  return config.NODE_ENV === 'production' ? [] : DEV_ORIGINS;
}
