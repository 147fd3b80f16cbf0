// Placeholder until the pipeline exists: starts the local Redis that `pnpm start` will share.
import { startRedisServer } from '@fsx/testing';

const redis = process.env.REDIS_URL ? undefined : await startRedisServer({ appendOnly: true });
process.stdout.write(`fsx: Redis at ${process.env.REDIS_URL ?? redis?.url}. Ctrl-C to stop.\n`);
const stop = async () => {
  await redis?.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
