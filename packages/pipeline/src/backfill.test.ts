import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useTestRedis } from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cancelBackfill,
  createCallbackWorker,
  exportView,
  publicView,
  submitBackfill,
} from './index.js';
import { startPipeline } from './pipeline-test-helpers.js';

// A pipeline of its own: the simulator's quota (burst 50) is this file's alone.
const redis = useTestRedis();
let p: Awaited<ReturnType<typeof startPipeline>>;
beforeAll(async () => {
  p = await startPipeline(redis);
});
afterAll(() => p.stop());

describe('a backfill', () => {
  const backfill = (segmentId: string, start: string, callbackUrl?: string) =>
    submitBackfill(p.runtime.deps.store, p.runtime.deps.queues, {
      spec: {
        segmentId,
        type: 'events',
        format: 'ndjson',
        timeRange: { start, end: new Date(Date.parse(start) + 3 * 86_400_000).toISOString() },
      },
      credential: 'default',
      sink: 'duckdb',
      splitMs: 86_400_000,
      ...(callbackUrl ? { callbackUrl } : {}),
    });

  it('ends with its last window, lists under its final state and sends its own callback', async () => {
    const received: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const callbacks = createCallbackWorker(
      {
        store: p.runtime.deps.store,
        secret: 'callback-secret-0123456789',
        logger: p.runtime.deps.logger,
      },
      { connection: redis.connect({ maxRetriesPerRequest: null }), prefix: redis.prefix },
    );
    await callbacks.waitUntilReady();
    const { record } = await backfill('everyone', '2026-02-01T00:00:00Z', url);
    // The parent itself, as stored: it has no stage job of its own.
    const done = await p.waitFor(record.id, ['completed', 'failed', 'cancelled'], 30_000);
    const children = await Promise.all(
      (done.children ?? []).map(async (id) => p.runtime.deps.store.get(id)),
    );
    expect(children.map((c) => c?.state)).toEqual(['completed', 'completed', 'completed']);
    const lastChildEnd = children
      .map((c) => c?.finishedAt ?? '')
      .sort()
      .at(-1);
    expect(publicView(done)).toMatchObject({
      state: 'completed',
      stage: null,
      progress: 100,
      rows: 1200,
      finishedAt: lastChildEnd,
    });
    // The windows' columns, as a list (Redis' cjson would write an empty one as an object).
    expect(Array.isArray(publicView(done).extraFields)).toBe(true);
    expect(Array.isArray(publicView(done).newColumns)).toBe(true);
    const listed = await p.runtime.deps.store.list({ state: 'completed', limit: 100 });
    expect(listed.records.map((r) => r.id)).toContain(record.id);
    const deadline = Date.now() + 10_000;
    while (received.length < 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    await callbacks.close();
    server.close();
    // One callback, the parent's: the windows were submitted without one.
    expect(received).toHaveLength(1);
    const body = JSON.parse(received[0] as string);
    expect(body).toMatchObject({
      id: record.id,
      state: 'completed',
      rows: 1200,
      finishedAt: lastChildEnd,
    });
    expect(body.children).toHaveLength(3);
  }, 45_000);

  it('fails with the reason of its windows that failed', async () => {
    const { record } = await backfill('nosuchsegment', '2026-02-10T00:00:00Z');
    const done = await p.waitFor(record.id, ['completed', 'failed', 'cancelled'], 30_000);
    expect(done.state).toBe('failed');
    expect(done.lastError).toMatch(/^3 of 3 windows did not complete; .*not found/);
    expect((await exportView(p.runtime.deps.store, done)).lastError).toBe(done.lastError);
  }, 45_000);

  it('stays cancelled when cancelled, whatever its windows did', async () => {
    const { record } = await backfill('everyone', '2026-02-20T00:00:00Z');
    const cancelled = await cancelBackfill(p.runtime.deps.store, p.runtime.deps.queues, record);
    expect(cancelled?.state).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 1_500));
    const after = await p.runtime.deps.store.get(record.id);
    expect(after?.state).toBe('cancelled');
    expect((await exportView(p.runtime.deps.store, after as never)).state).toBe('cancelled');
  }, 45_000);
});
