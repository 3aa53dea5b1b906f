import pino, { type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config/schema.js';

export type { Logger };

/** Options of the root logger: level from config, secrets redacted wherever they may appear. */
export function loggerOptions(config: Pick<Config, 'LOG_LEVEL'>): LoggerOptions {
  return {
    level: config.LOG_LEVEL,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["sec-websocket-protocol"]', 'headers.authorization', '*.token', 'token'],
      censor: '[redacted]',
    },
  };
}

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>): Logger {
  return pino(loggerOptions(config));
}
