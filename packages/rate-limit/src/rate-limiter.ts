import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const GCRA = readFileSync(new URL('./gcra.lua', import.meta.url), 'utf8');

export interface Quota {
  /** Tokens available at once. @defaultValue 50 (FullStory's documented burst) */
  burst: number;
  /** Refill rate. @defaultValue 2 (FullStory's documented rate) */
  perMinute: number;
}

export type Acquired =
  | { granted: true; remaining: number }
  | { granted: false; retryAfterMs: number };

export interface RateLimiterOptions {
  redis: Redis;
  /** Key prefix; a hash tag (`{fsx}`) keeps every key on one Redis Cluster slot. */
  prefix: string;
  quota: Quota;
  /**
   * Tokens held back from the server's burst. Our grant and the server's count happen a few
   * milliseconds apart; one token of headroom absorbs that jitter so it never becomes a 429.
   * @defaultValue 1
   */
  headroom?: number;
}

type RedisWithGcra = Redis & {
  fsxGcra(
    key: string,
    op: string,
    interval: string,
    burst: string,
    penaltyMs: string,
  ): Promise<[number, string]>;
};

/** A hash of the key, never the key: what is in Redis must not reveal a credential. */
export function bucketId(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 24);
}

/**
 * One token bucket per API key, in Redis, shared by every stage and process. `acquire()` never
 * waits: it grants a token or says how long until one is free, so a job can be delayed instead of
 * a worker blocked.
 */
export class RateLimiter {
  private readonly redis: RedisWithGcra;
  private readonly interval: number;
  private readonly burst: number;

  constructor(private readonly options: RateLimiterOptions) {
    this.redis = options.redis as RedisWithGcra;
    if (!this.redis.fsxGcra) this.redis.defineCommand('fsxGcra', { numberOfKeys: 1, lua: GCRA });
    this.interval = 60_000 / options.quota.perMinute;
    this.burst = Math.max(1, options.quota.burst - (options.headroom ?? 1));
  }

  private key(apiKey: string): string {
    return `${this.options.prefix}:ratelimit:${bucketId(apiKey)}`;
  }

  private async run(apiKey: string, op: string, penaltyMs = 0, reserve = 0): Promise<Acquired> {
    const [granted, value] = await this.redis.fsxGcra(
      this.key(apiKey),
      op,
      String(this.interval),
      String(Math.max(1, this.burst - Math.max(0, reserve))),
      String(Math.max(0, Math.ceil(penaltyMs))),
    );
    return granted === 1
      ? { granted: true, remaining: Number(value) }
      : { granted: false, retryAfterMs: Math.max(1, Number(value)) };
  }

  /**
   * Takes one token for `apiKey`, or says how long until one is free. Never waits. With `reserve`,
   * only when more than that many are free: lower-priority work (starting exports) leaves the last
   * tokens to work that is already under way (polls of running exports), whose waiting is lag.
   */
  acquire(apiKey: string, options: { reserve?: number } = {}): Promise<Acquired> {
    return this.run(apiKey, 'acquire', 0, options.reserve);
  }

  /** How many tokens are free now, without taking one. */
  peek(apiKey: string): Promise<Acquired> {
    return this.run(apiKey, 'peek');
  }

  /**
   * FullStory answered 429 anyway (another tool shares the key): every process backs off until
   * `retryAfterMs` from now, and the bucket is treated as empty.
   */
  async penalize(apiKey: string, retryAfterMs: number): Promise<void> {
    await this.run(apiKey, 'penalize', retryAfterMs);
  }
}
