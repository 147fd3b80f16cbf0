import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { stageJobId } from '@fsx/queues';
import { useTestRedis } from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline } from './pipeline-test-helpers.js';

const redis = useTestRedis();
let p: Awaited<ReturnType<typeof startPipeline>>;
beforeAll(async () => {
  p = await startPipeline(redis, {}, { DUCKDB_LOCK_WAIT_MS: '300' });
});
afterAll(() => p.stop());

// DuckDB as the sinks package has it (this package reaches DuckDB only through it).
const duckdbModule = pathToFileURL(
  createRequire(createRequire(import.meta.url).resolve('@fsx/sinks')).resolve('@duckdb/node-api'),
).href;

/** Another process with the DuckDB file open, as a person querying it would have. */
async function holdDuckDbFile(file: string): Promise<ChildProcess> {
  const holder = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { DuckDBInstance } from ${JSON.stringify(duckdbModule)};
       const db = await (await DuckDBInstance.create(${JSON.stringify(file)})).connect();
       await db.run('CREATE TABLE IF NOT EXISTS held (x INTEGER)');
       console.log('holding');
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await once(holder.stdout as NonNullable<typeof holder.stdout>, 'data');
  return holder;
}

describe('an ingest that finds the DuckDB file open in another process', () => {
  it('waits as a delayed job, says so, spends no attempt, and loads once the file is free', async () => {
    const holder = await holdDuckDbFile(p.config.sinks.duckdbPath);
    const { record } = await p.submit({ format: 'ndjson' });
    try {
      const deadline = Date.now() + 20_000;
      let waiting = await p.runtime.deps.store.get(record.id);
      while (!waiting?.lastError?.includes('waiting for the sink') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        waiting = await p.runtime.deps.store.get(record.id);
      }
      expect(waiting).toMatchObject({
        state: 'running',
        stage: 'ingest',
        lastError: expect.stringContaining('ingest: waiting for the sink: cannot open DuckDB file'),
      });
      // Waiting: the worker is not holding the job, and no attempt has been spent.
      const job = await p.runtime.deps.queues.ingest.getJob(
        stageJobId('ingest', record.id, waiting?.step ?? -1),
      );
      expect(await job?.getState()).toBe('delayed');
      expect(job?.attemptsMade).toBe(0);
    } finally {
      holder.kill();
      await once(holder, 'exit');
    }
    const done = await p.waitFor(record.id, ['completed', 'failed'], 30_000);
    expect(done).toMatchObject({ state: 'completed', rows: 400 });
    expect(done.lastError).toBeUndefined();
  }, 60_000);
});
