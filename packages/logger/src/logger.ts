import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import pretty from 'pino-pretty';
import { SecretScrubber } from './secret-scrubber.js';

export type { Logger } from 'pino';

/** Field paths that can carry a credential, at the depths our code and libraries log them. */
export const REDACTED_PATHS = [
  'authorization',
  'apiKey',
  'token',
  'password',
  'secret',
  '*.authorization',
  '*.Authorization',
  '*.apiKey',
  '*.token',
  '*.password',
  '*.secret',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'request.headers.authorization',
  'err.config.headers.authorization',
  '*.headers.authorization',
  '*.credentials',
];

export interface CreateLoggerOptions {
  name: string;
  /** @defaultValue 'info' */
  level?: string;
  /** Human-readable output. @defaultValue true when stdout is a terminal */
  pretty?: boolean;
  /** Values that must never appear in output, wherever they are (API keys, tokens). */
  secrets?: Iterable<string>;
  /** Where lines go. @defaultValue stdout */
  destination?: DestinationStream;
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  const base: DestinationStream = options.destination ?? pino.destination({ fd: 1, sync: false });
  const target: DestinationStream = usePretty
    ? pretty({ destination: base, colorize: options.destination === undefined, sync: true })
    : base;
  const loggerOptions: LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    serializers: { err: pino.stdSerializers.err },
  };
  return pino(loggerOptions, new SecretScrubber(target, options.secrets ?? []));
}
