import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@fsx/logger';
import { closeQueues, createStageQueues } from '@fsx/queues';
import { eventually, useTestRedis } from '@fsx/testing';
import { describe, expect, it } from 'vitest';
import { startHousekeeping } from './housekeeping.js';
import { cancelExport, ExportStore, StagingStore } from './index.js';

const redis = useTestRedis();

describe('housekeeping', () => {
  it("removes the files of exports that ended, and keeps running exports' and unknown ones'", async () => {
    const connection = redis.connect({ maxRetriesPerRequest: null });
    const store = new ExportStore(connection, redis.prefix);
    const queues = createStageQueues(connection, redis.prefix);
    const submit = async () =>
      (
        await store.create({
          spec: {
            segmentId: 'everyone',
            type: 'events',
            format: 'ndjson',
            timeRange: { start: '2026-11-01T00:00:00Z', end: '2026-11-02T00:00:00Z' },
          },
          credential: 'default',
          sink: 'duckdb',
        })
      ).record.id;
    const [cancelled, failed, running] = [await submit(), await submit(), await submit()];
    await cancelExport(store, queues, cancelled);
    await store.update(failed, { state: 'failed', lastError: 'ingest: boom' });
    const unknown = '00000000-0000-4000-8000-000000000000';

    const dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-sweep-'));
    const files = [
      // Downloaded, staged as text, and a killed careful load's lines beside it.
      `${cancelled}.ndjson.gz`,
      `${cancelled}.ndjson`,
      `${cancelled}.ndjson.4242.lines`,
      `${failed}.ndjson.gz`,
      `${running}.ndjson.gz`,
      `${running}.ndjson`,
      `${unknown}.ndjson.gz`,
      'lost+found',
    ];
    for (const name of files) await writeFile(path.join(dir, name), name);

    const stop = startHousekeeping(
      { staging: new StagingStore(dir), store },
      createLogger({ name: 'sweep-test', level: 'silent' }),
      60_000,
    );
    try {
      const left = await eventually(async () => {
        const names = (await readdir(dir)).sort();
        return names.length === 4 ? names : undefined;
      }, 10_000);
      expect(left).toEqual(
        [`${running}.ndjson`, `${running}.ndjson.gz`, `${unknown}.ndjson.gz`, 'lost+found'].sort(),
      );
    } finally {
      stop();
      await closeQueues(queues);
    }
  });
});
