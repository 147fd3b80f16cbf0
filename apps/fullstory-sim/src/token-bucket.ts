/** In-memory token buckets, one per key: the simulator is one process, like FullStory's front door. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token, or returns how many milliseconds until one is free. */
  take(key: string): { granted: true } | { granted: false; retryAfterMs: number } {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    const refillPerMs = this.perMinute / 60_000;
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * refillPerMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { granted: true };
    }
    return { granted: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / refillPerMs) };
  }
}
