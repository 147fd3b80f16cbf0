import { useTestRedis } from '@fsx/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectWaitingForSink, startPipeline } from './pipeline-test-helpers.js';

// A file of its own: a Redis prefix of its own, so no other test's workers take its jobs.
const redis = useTestRedis();

describe('a PostgreSQL ingest that meets a lock another session holds', () => {
  // A database of its own: the lock below would hold up every other test's loads into public.
  const database = `fsx_locks_${process.pid}`;
  const admin = new pg.Client({ connectionString: inject('postgresUrl') });
  let url: string;
  let q: Awaited<ReturnType<typeof startPipeline>>;
  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    url = Object.assign(new URL(inject('postgresUrl')), { pathname: `/${database}` }).href;
    q = await startPipeline(redis, {}, { DATABASE_URL: url, POSTGRES_LOCK_TIMEOUT_MS: '300' });
  });
  afterAll(async () => {
    await q?.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('waits as a delayed job, says so, spends no attempt, and loads once the lock is gone', async () => {
    // Days of their own: the same spec as the DuckDB test's export would be that export.
    const day = (d: number) => ({
      start: `2026-10-${d}T00:00:00Z`,
      end: `2026-10-${d + 1}T00:00:00Z`,
    });
    const first = await q.submit({ format: 'ndjson', timeRange: day(10) }, undefined, 'postgres');
    expect(await q.waitFor(first.record.id, ['completed', 'failed'], 30_000)).toMatchObject({
      state: 'completed',
      rows: 400,
    });
    // An analyst's transaction that locked the table against writes (a LOCK, an index build).
    const analyst = new pg.Client({ connectionString: url });
    await analyst.connect();
    try {
      await analyst.query('BEGIN');
      await analyst.query('LOCK TABLE events IN SHARE MODE');
      const { record } = await q.submit(
        { format: 'ndjson', timeRange: day(11) },
        undefined,
        'postgres',
      );
      const waiting = await expectWaitingForSink(q, record.id, `loading export ${record.id}`);
      expect(waiting?.lastError).toContain('another PostgreSQL session held a lock');
      await analyst.query('COMMIT');
      const done = await q.waitFor(record.id, ['completed', 'failed'], 30_000);
      expect(done).toMatchObject({ state: 'completed', rows: 400 });
      expect(done.lastError).toBeUndefined();
    } finally {
      await analyst.end();
    }
  }, 60_000);
});
