import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * How long a credential's recent export operations took, in Redis so every process learns from
 * every other. The median is where an export's first poll should land: about half of the exports
 * are done by then (one poll), and the rest have made progress enough to predict their end (two).
 */
export class OperationDurations {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly keep = 50,
  ) {}

  private key(credential: string) {
    const id = createHash('sha256').update(credential).digest('hex').slice(0, 16);
    return `${this.prefix}:op-durations:${id}`;
  }

  async record(credential: string, durationMs: number): Promise<void> {
    if (!Number.isFinite(durationMs) || durationMs <= 0) return;
    await this.redis
      .multi()
      .lpush(this.key(credential), Math.round(durationMs))
      .ltrim(this.key(credential), 0, this.keep - 1)
      .exec();
  }

  /** The median of the recent durations; undefined until one has been seen. */
  async typicalMs(credential: string): Promise<number | undefined> {
    const values = (await this.redis.lrange(this.key(credential), 0, -1))
      .map(Number)
      .sort((a, b) => a - b);
    return values.length ? values[Math.floor(values.length / 2)] : undefined;
  }
}
