// bench/fairness: one API key with a deep backlog must not slow another key's exports. Runs the
// small key's exports alone, then again behind the big key's backlog, in the same run, and prints
// how long the small key's exports took each time. Time is scaled ×60 as in bench/quota.
import { setTimeout as sleep } from 'node:timers/promises';
import { createSimulator } from '@fsx/fullstory-sim';
import { submitExport } from '@fsx/pipeline';
import { provideRedis } from '@fsx/testing';
import { startInProcessFsx } from './in-process.js';
import { percentile, table } from './stats.js';

const SCALE = 60;
const BIG = Number(process.env.BENCH_BIG_EXPORTS ?? 120);
const SMALL = Number(process.env.BENCH_SMALL_EXPORTS ?? 8);
const BURST = 10;
const PER_MINUTE = 2 * SCALE;
const KEYS = { big: 'na1.key-big', small: 'na1.key-small' } as const;

async function run(redisUrl: string, backlog: number) {
  const sim = createSimulator({
    apiKeys: { [KEYS.big]: 'admin', [KEYS.small]: 'admin' },
    quota: { burst: BURST, perMinute: PER_MINUTE },
    operationMs: 60_000 / SCALE,
    rowsPerExport: 5,
  });
  const baseUrl = await sim.listen();
  const fsx = await startInProcessFsx({
    name: 'fair',
    redisUrl,
    baseUrl,
    scale: SCALE,
    concurrency: 8,
    env: {
      FULLSTORY_CREDENTIALS: `big=${KEYS.big},small=${KEYS.small}`,
      QUOTA_BURST: String(BURST),
      QUOTA_PER_MINUTE: String(PER_MINUTE),
    },
  });
  const { runtime } = fsx;
  const submit = async (credential: 'big' | 'small', i: number) => {
    const day = new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString();
    const { record } = await submitExport(runtime.deps.store, runtime.deps.queues, {
      spec: {
        segmentId: 'everyone',
        type: 'events',
        format: 'json',
        timeRange: { start: day, end: new Date(Date.parse(day) + 3_600_000).toISOString() },
      },
      credential,
      sink: 'files',
    });
    return { id: record.id, submittedAt: Date.now() };
  };
  for (let i = 0; i < backlog; i++) await submit('big', i);
  // The small key's exports arrive once the big key's backlog has spent its burst.
  if (backlog > 0) await sleep(2_000);
  const small = await Promise.all(Array.from({ length: SMALL }, (_, i) => submit('small', i)));
  const took: number[] = [];
  for (const { id, submittedAt } of small) {
    for (;;) {
      const record = await runtime.deps.store.get(id);
      if (record && ['completed', 'failed'].includes(record.state)) {
        took.push((Date.parse(record.finishedAt ?? '') || Date.now()) - submittedAt);
        break;
      }
      await sleep(50);
    }
  }
  await fsx.stop();
  await sim.close();
  took.sort((a, b) => a - b);
  return {
    run: backlog ? `behind ${backlog} exports of another key` : 'alone',
    'small-key exports': SMALL,
    'median (FS s)': ((percentile(took, 50) * SCALE) / 1000).toFixed(0),
    'max (FS s)': ((Math.max(...took) * SCALE) / 1000).toFixed(0),
    median: percentile(took, 50),
  };
}

const redis = await provideRedis();
const alone = await run(redis.url, 0);
const behind = await run(redis.url, BIG);
const rows = [alone, behind].map(({ median: _median, ...row }) => row);
process.stdout.write(
  `bench/fairness: quota per key burst ${BURST} + 2/min, operations 1 FS min, time ×${SCALE}\n${table(rows)}\n` +
    `small key behind a backlog / alone (median): ${(behind.median / alone.median).toFixed(2)}\n`,
);
await redis.stop();
