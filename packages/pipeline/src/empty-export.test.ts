import { useTestRedis } from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicView } from './index.js';
import { startPipeline } from './pipeline-test-helpers.js';

// FullStory exports a window in which nothing happened as a file without rows.
const redis = useTestRedis();
let p: Awaited<ReturnType<typeof startPipeline>>;
beforeAll(async () => {
  p = await startPipeline(redis, { rowsPerExport: 0 });
});
afterAll(() => p.stop());

describe('an export of a window with no activity', () => {
  it.each([
    ['events', 'ndjson'],
    ['events', 'json'],
    ['individuals', 'csv'],
  ] as const)('completes a %s %s export with no rows and no warning', async (type, format) => {
    const { record } = await p.submit({ type, format });
    const done = await p.waitFor(record.id);
    expect(publicView(done)).toMatchObject({
      state: 'completed',
      rows: 0,
      rowsRejected: 0,
      warning: null,
    });
    expect((await p.digest(type, record.id)).count).toBe(0);
  });
});
