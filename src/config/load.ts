import { isIP } from 'node:net';
import { Value } from '@sinclair/typebox/value';
import { DEV_ORIGINS, originProblems, splitOrigins } from './origins.js';
import { ConfigSchema, type Config, DEFAULT_DEV_AUTH_SECRET } from './schema.js';

/** Thrown with every problem of the environment at once, so an operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads the settings from `env` (default `process.env`): only keys of the schema, empty strings as
 * unset, converted, defaulted, validated and frozen. Settings are read here and nowhere else; the
 * Firebase verifier's use of `FIREBASE_AUTH_EMULATOR_HOST` is the driver's interface, not a setting.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw));
  const problems = [...Value.Errors(ConfigSchema, converted)].map((e) => {
    const key = e.path.slice(1);
    return `${key}: ${e.message} ${isSecret(key) ? '(the value is secret: not shown)' : `(got ${JSON.stringify(e.value)})`}`;
  });
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

/**
 * fastify's `trustProxy` for TRUST_PROXY: true, the proxies' addresses, or for a hop count the
 * function fastify itself builds from a number (its types do not take the number).
 */
export function proxyTrust(config: Config): boolean | string | ((address: string, hop: number) => boolean) {
  const v = config.TRUST_PROXY;
  if (v === undefined) return false;
  if (v === 'true') return true;
  if (!/^[0-9]+$/.test(v)) return v;
  const hops = Number(v);
  return (_address, hop) => hop < hops;
}

const isSecret = (key: string): boolean =>
  (ConfigSchema.properties as Record<string, { secret?: boolean } | undefined>)[key]?.secret === true;

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`: nobody else can reach the server. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const address = host.replace(/^::ffff:/i, '');
  if (isIP(address) === 4) return address.startsWith('127.');
  return isIP(host) === 6 && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/.test(host);
}

function crossChecks(config: Config): string[] {
  const problems: string[] = [];
  const mode = authMode(config);
  if (config.NODE_ENV === 'production') {
    if (mode === 'dev') problems.push('AUTH_MODE: `dev` tokens are refused when NODE_ENV=production; set FIREBASE_PROJECT_ID');
    // firebase-admin skips signature checks (accepts `alg: none`) whenever it sees an emulator host.
    if (mode === 'emulator' || config.FIREBASE_AUTH_EMULATOR_HOST) {
      problems.push(
        'FIREBASE_AUTH_EMULATOR_HOST: the Auth emulator accepts unsigned tokens and is refused when NODE_ENV=production; unset it (and AUTH_MODE=emulator)',
      );
    }
    if (!config.DATABASE_URL) problems.push('DATABASE_URL: required when NODE_ENV=production (the embedded Postgres is for development)');
  }
  if (mode === 'dev' && config.DEV_AUTH_SECRET === DEFAULT_DEV_AUTH_SECRET && !isLoopback(config.HOST)) {
    problems.push(
      `DEV_AUTH_SECRET: the default lets anyone mint tokens for any user; set a secret of your own to listen on HOST=${config.HOST} (not a loopback address)`,
    );
  }
  if ((mode === 'firebase' || mode === 'emulator') && !config.FIREBASE_PROJECT_ID) {
    problems.push(`FIREBASE_PROJECT_ID: required for AUTH_MODE=${mode}`);
  }
  if (mode === 'emulator' && !config.FIREBASE_AUTH_EMULATOR_HOST) {
    problems.push('FIREBASE_AUTH_EMULATOR_HOST: required for AUTH_MODE=emulator');
  }
  if (config.METRICS_PORT !== undefined && config.METRICS_PORT !== 0 && config.METRICS_PORT === config.PORT) {
    problems.push('METRICS_PORT: must differ from PORT (it is a listener of its own)');
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
