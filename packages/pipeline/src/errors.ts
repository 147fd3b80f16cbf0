import { isFullStoryError } from '@fsx/fullstory';
import { DelayedError, type Job } from 'bullmq';

/** A stage asks to be run again later: no token free, FullStory's Retry-After, or the next poll. */
export class WaitSignal extends Error {
  readonly code = 'pipeline.wait';
  constructor(
    readonly delayMs: number,
    readonly reason: string,
  ) {
    super(`waiting ${delayMs} ms: ${reason}`);
  }
}

/**
 * Turns a WaitSignal into BullMQ's delayed-job move: the job sleeps in Redis, not in a worker.
 * A little jitter keeps many jobs told "one token free in 30 s" from waking together.
 */
export async function delayJob(
  job: Job,
  token: string | undefined,
  signal: WaitSignal,
): Promise<never> {
  const jitter = Math.floor(Math.random() * Math.min(1_000, signal.delayMs * 0.1 + 50));
  await job.moveToDelayed(Date.now() + signal.delayMs + jitter, token);
  throw new DelayedError();
}

/** The export cannot succeed (bad request, forbidden key, FullStory gave up): fail it now. */
export class ExportFailedError extends Error {
  readonly code = 'pipeline.export_failed';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'ExportFailedError';
  }
}

/** A credential named in an export is not in this process's configuration. */
export class UnknownCredentialError extends ExportFailedError {
  constructor(name: string) {
    super(
      `credential "${name}" is not configured (set FULLSTORY_API_KEY or FULLSTORY_CREDENTIALS)`,
    );
  }
}

/**
 * Whether running a job again can help: never for an ExportFailedError (a bad request, an unknown
 * credential); for FullStory's errors, what they say; otherwise yes unless the error says no.
 */
export function canRetry(error: unknown): boolean {
  if (error instanceof ExportFailedError) return false;
  if (isFullStoryError(error)) return error.retryable;
  return (error as { retryable?: boolean })?.retryable !== false;
}

/** Whether this run of the job is its last try. */
export function isFinalAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
