import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { useTestRedis } from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectWaitingForSink, startPipeline } from './pipeline-test-helpers.js';

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
      await expectWaitingForSink(p, record.id, 'cannot open DuckDB file');
    } finally {
      holder.kill();
      await once(holder, 'exit');
    }
    const done = await p.waitFor(record.id, ['completed', 'failed'], 30_000);
    expect(done).toMatchObject({ state: 'completed', rows: 400 });
    expect(done.lastError).toBeUndefined();
  }, 60_000);
});
