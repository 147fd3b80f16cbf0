import { DuckDbSink } from '@fsx/sinks';
import { useTestRedis } from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicView } from './index.js';
import { startPipeline } from './pipeline-test-helpers.js';

const redis = useTestRedis();
let p: Awaited<ReturnType<typeof startPipeline>>;
beforeAll(async () => {
  p = await startPipeline(redis, {}, { SINK_NEW_FIELDS: 'extras' });
});
afterAll(() => p.stop());

describe('SINK_NEW_FIELDS=extras', () => {
  it('lands custom fields in the extras column and lists them in the export record', async () => {
    const { record } = await p.submit({ format: 'ndjson' });
    const done = await p.waitFor(record.id);
    expect(done).toMatchObject({ state: 'completed', rows: 400 });
    // The simulator's custom fields are not in FullStory's documented catalog.
    expect(publicView(done).extraFields).toEqual(
      expect.arrayContaining(['evt_price_real', 'evt_plan_str', 'evt_order.order_id_str']),
    );
    expect(publicView(done).newColumns).toContain('extras');
    expect(publicView(done).newColumns).not.toContain('evt_price_real');
    const sink = new DuckDbSink({ path: p.config.sinks.duckdbPath });
    const withExtras = await sink.withConnection(async (db) =>
      (
        await db.runAndReadAll(
          `SELECT count(*)::INTEGER AS n FROM events WHERE export_id = $1 AND json_exists(extras, '$.evt_plan_str')`,
          [record.id],
        )
      ).getRowObjectsJS(),
    );
    expect(Number(withExtras[0]?.n)).toBeGreaterThan(0);
  });
});
