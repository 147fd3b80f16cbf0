import { loadConfig } from '@fsx/config';
import { describe, expect, it } from 'vitest';
import { threadPoolShortfall } from './worker-lifecycle.js';

const workers = (env: Record<string, string>) =>
  loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', ...env }).workers;

describe('threadPoolShortfall', () => {
  it('warns an ingest worker whose libuv pool its loads would fill, naming the size to start with', () => {
    expect(threadPoolShortfall('ingest', workers({}))).toEqual({
      recommended: 8,
      message: expect.stringContaining(
        'UV_THREADPOOL_SIZE=4 leaves no libuv thread beside 4 loads',
      ),
    });
    expect(
      threadPoolShortfall('ingest', workers({ WORKER_CONCURRENCY: '6', UV_THREADPOOL_SIZE: '6' })),
    ).toMatchObject({ recommended: 10 });
  });

  it('says nothing with a thread to spare, or for a stage that loads nothing', () => {
    expect(threadPoolShortfall('ingest', workers({ UV_THREADPOOL_SIZE: '5' }))).toBeUndefined();
    expect(threadPoolShortfall('download', workers({}))).toBeUndefined();
  });
});
