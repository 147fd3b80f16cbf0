export interface PollObservation {
  /** FullStory's estimatePctComplete, 0–100. */
  pct: number;
  /** When the operation was created, by our clock (ms). */
  startedAtMs: number;
  nowMs: number;
  /** Polls made so far. */
  polls: number;
}

export interface PollBounds {
  minMs: number;
  maxMs: number;
}

/**
 * When to poll next. FullStory's estimate rises roughly linearly, so the time to completion is
 * predicted from how fast it has risen, and the poll lands just after the predicted end (3% of
 * the whole duration late, so one poll usually sees COMPLETED). With no progress yet, back off
 * exponentially from the minimum. Every poll costs one of the quota's scarce tokens.
 */
export function pollDelayMs(observation: PollObservation, bounds: PollBounds): number {
  const { pct, startedAtMs, nowMs, polls } = observation;
  const elapsed = nowMs - startedAtMs;
  let delay: number;
  if (pct <= 0 || pct >= 100 || elapsed <= 0) {
    delay = bounds.minMs * 2 ** Math.min(polls, 16);
  } else {
    const predictedTotal = (elapsed * 100) / pct;
    delay = predictedTotal - elapsed + predictedTotal * 0.03;
  }
  return Math.round(Math.min(bounds.maxMs, Math.max(bounds.minMs, delay)));
}
