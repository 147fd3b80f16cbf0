// A separate process hammering one limiter: argv = redisUrl prefix apiKey burst perMinute durationMs
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RateLimiter } from './index.js';

const [url, prefix, apiKey, burst, perMinute, durationMs] = process.argv.slice(2) as string[];
const redis = new Redis(url as string);
const limiter = new RateLimiter({
  redis,
  prefix: prefix as string,
  quota: { burst: Number(burst), perMinute: Number(perMinute) },
  headroom: 0,
});
// Start together: each process counts itself in and waits for the rest. A start time fixed by the
// parent was missed on a busy CI machine (eight tsx processes on two cores), and a process that
// started after the others had stopped was granted nothing.
const ready = `${prefix}:hammer-ready`;
await redis.incr(ready);
while (Number(await redis.get(ready)) < Number(process.env.HAMMER_PROCESSES)) await sleep(5);
const go = Date.now();
const stopAt = go + Number(durationMs);
let granted = 0;
let denied = 0;
const grantTimes: number[] = [];
while (Date.now() < stopAt) {
  const result = await limiter.acquire(apiKey as string);
  if (result.granted) {
    granted += 1;
    const [seconds, micros] = await redis.time();
    grantTimes.push(Number(seconds) * 1000 + Number(micros) / 1000);
  } else {
    denied += 1;
    await sleep(Math.min(result.retryAfterMs, 3));
  }
}
process.stdout.write(JSON.stringify({ granted, denied, grantTimes }));
redis.disconnect();
