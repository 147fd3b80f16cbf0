export { everySoOften } from './every-so-often.js';
export { type CreateLoggerOptions, createLogger, type Logger, REDACTED_PATHS } from './logger.js';
export { SecretScrubber } from './secret-scrubber.js';
