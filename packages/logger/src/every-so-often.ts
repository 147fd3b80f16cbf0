import type { Logger } from 'pino';

/**
 * Logs a problem that recurs (a connection refused, again and again) once per `everyMs` for each
 * message and error, with how many times it happened since the last line. While Redis is down
 * every connection fails about twice a second, and the intake's eight connections wrote 167
 * lines in 20 s, burying anything else the log had to say.
 */
export function everySoOften(logger: Logger, level: 'warn' | 'error', everyMs = 30_000) {
  const seen = new Map<string, { loggedAt: number; since: number }>();
  return (fields: { err?: unknown } & Record<string, unknown>, message: string): void => {
    const key = `${message}\u0000${fields.err instanceof Error ? fields.err.message : ''}`;
    const now = Date.now();
    const last = seen.get(key);
    if (last && now - last.loggedAt < everyMs) {
      last.since += 1;
      return;
    }
    seen.set(key, { loggedAt: now, since: 0 });
    logger[level](last ? { ...fields, repeated: last.since + 1 } : fields, message);
  };
}
