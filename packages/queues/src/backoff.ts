import type { BackoffStrategy, MinimalJob } from 'bullmq';

/** The backoff type of jobs whose worker sets `backoffStrategy: cappedExponentialBackoff`. */
export const CAPPED_EXPONENTIAL = 'capped-exponential';

/** Where `cappedExponentialBackoff` stops doubling. */
export const BACKOFF_CAP_MS = 60_000;

/**
 * The wait before try `attemptsMade + 1`: `delayMs` doubled per failed try, as BullMQ's
 * exponential backoff, but never past `capMs`; `jitter` (0..1) takes up to that share off at random.
 */
export function cappedBackoffMs(
  attemptsMade: number,
  {
    delayMs,
    jitter = 0,
    capMs = BACKOFF_CAP_MS,
  }: { delayMs: number; jitter?: number; capMs?: number },
  random: () => number = Math.random,
): number {
  const full = Math.min(capMs, delayMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(full * (1 - jitter * random()));
}

/**
 * BullMQ's exponential backoff doubles without end: the 8th failed try waits over 4 minutes, the
 * 12th over an hour. A job whose tries add up over a long life (a send batch: its creation, every
 * poll, its error listing) then met a short outage late with a long wait, and soon ran out of
 * tries. This one doubles up to BACKOFF_CAP_MS and stays there, so more tries ride out a longer
 * outage at a steady pace. Reads the job's own `delay` and `jitter`.
 */
export const cappedExponentialBackoff: BackoffStrategy = (
  attemptsMade: number,
  type?: string,
  _error?: Error,
  job?: MinimalJob,
) => {
  const backoff = job?.opts.backoff;
  if (type !== CAPPED_EXPONENTIAL || typeof backoff !== 'object')
    throw new Error(`unknown backoff type ${type}`);
  return cappedBackoffMs(attemptsMade, {
    delayMs: backoff.delay ?? 1_000,
    ...(backoff.jitter !== undefined ? { jitter: backoff.jitter } : {}),
  });
};
