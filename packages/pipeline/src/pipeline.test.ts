import { readdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createLogger } from '@fsx/logger';
import { type LoadInput, PostgresSink } from '@fsx/sinks';
import { useTestRedis } from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelExport, createCallbackWorker, publicView, signCallback } from './index.js';
import { startPipeline } from './pipeline-test-helpers.js';

const redis = useTestRedis();
let p: Awaited<ReturnType<typeof startPipeline>>;
beforeAll(async () => {
  // FullStory's burst of 50 with room for the exports here (each costs about four calls).
  p = await startPipeline(redis, { quota: { burst: 80, perMinute: 2 } });
});
afterAll(() => p.stop());

/** What the staging store holds for one export, by name. */
const stagedFor = async (exportId: string) =>
  (await readdir(p.config.storage.stagingDir)).filter((f) => f.startsWith(`${exportId}.`)).sort();

/** Runs `before` ahead of each load into the pipeline's sinks, until the returned function. */
function beforeEachLoad(before: (input: LoadInput) => Promise<void>): () => void {
  const deps = p.runtime.deps;
  const realSink = deps.sink;
  deps.sink = (name) => {
    const sink = realSink(name);
    return {
      kind: sink.kind,
      close: () => sink.close(),
      async load(input) {
        await before(input);
        return sink.load(input);
      },
    };
  };
  return () => {
    deps.sink = realSink;
  };
}

const simRows = (searchExportId: string | undefined) => {
  const stats = p.sim.stats.exports[searchExportId as string];
  return { count: stats?.rows, hash: stats?.hash };
};

describe('the pipeline, in process, against the simulator', () => {
  it.each([
    ['events', 'json'],
    ['events', 'ndjson'],
    ['individuals', 'csv'],
  ] as const)(
    'lands exactly the generated rows of an %s %s export in DuckDB',
    async (type, format) => {
      const { record } = await p.submit({ type, format });
      const done = await p.waitFor(record.id);
      expect(done).toMatchObject({ state: 'completed', rows: 400, progress: 100 });
      expect(publicView(done).stage).toBeNull();
      expect(done.download).toBeUndefined();
      expect(await p.digest(type, record.id)).toEqual(simRows(done.searchExportId));
      expect(done.polls).toBeLessThanOrEqual(3);
      expect(await stagedFor(record.id)).toEqual([]);
    },
  );

  it.each([
    [true, ['ndjson', 'ndjson.gz'], 'ndjson'],
    [false, ['ndjson.gz'], 'ndjson.gz'],
  ])(
    'stages the export text for ingest (STAGE_TEXT=%s) and removes what it staged after the load',
    async (stageText, staged, loaded) => {
      const deps = p.runtime.deps;
      const realDownloads = deps.downloads;
      deps.downloads = { maxBytes: 2 ** 30, maxDecompressedBytes: 2 ** 30, stageText };
      const seen: { file: string; beside: string[] }[] = [];
      const restoreSink = beforeEachLoad(async (input) => {
        seen.push({ file: input.file, beside: await stagedFor(input.exportId) });
      });
      try {
        const day = stageText ? '07' : '08';
        const { record } = await p.submit({
          format: 'ndjson',
          timeRange: { start: `2026-06-${day}T00:00:00Z`, end: `2026-06-${day}T12:00:00Z` },
        });
        const done = await p.waitFor(record.id);
        expect(done).toMatchObject({ state: 'completed', rows: 400 });
        expect(await p.digest('events', record.id)).toEqual(simRows(done.searchExportId));
        expect(seen).toEqual([
          {
            file: path.join(p.config.storage.stagingDir, `${record.id}.${loaded}`),
            beside: staged.map((ending) => `${record.id}.${ending}`),
          },
        ]);
        expect(await stagedFor(record.id)).toEqual([]);
      } finally {
        restoreSink();
        deps.downloads = realDownloads;
      }
    },
  );

  it("times the first poll by the credential's typical operation, so one poll finds it done", async () => {
    const first = await p.submit({
      timeRange: { start: '2026-10-01T00:00:00Z', end: '2026-10-02T00:00:00Z' },
    });
    await p.waitFor(first.record.id);
    // The simulator's operations take 300 ms: that is what fsx has learned.
    expect(await p.runtime.deps.durations?.typicalMs('default')).toBe(300);
    const { record } = await p.submit({
      timeRange: { start: '2026-10-02T00:00:00Z', end: '2026-10-03T00:00:00Z' },
    });
    const done = await p.waitFor(record.id);
    expect(done).toMatchObject({ state: 'completed', polls: 1 });
  });

  it('loads into PostgreSQL when the export asks for that sink', async () => {
    const { record } = await p.submit(
      { format: 'csv', timeRange: { start: '2026-04-01T00:00:00Z', end: '2026-04-02T00:00:00Z' } },
      undefined,
      'postgres',
    );
    const done = await p.waitFor(record.id);
    expect(done).toMatchObject({
      state: 'completed',
      rows: 400,
      rowsRejected: 0,
      sink: 'postgres',
    });
    const pg = new PostgresSink({ connectionString: p.config.sinks.postgresUrl as string });
    expect(await pg.digest('events', record.id)).toEqual(simRows(done.searchExportId));
    await pg.close();
  });

  it('fetches a fresh URL when the first one expired', async () => {
    p.sim.injectFault('early_expiry');
    const { record } = await p.submit({
      timeRange: { start: '2026-10-01T00:00:00Z', end: '2026-10-02T00:00:00Z' },
    });
    const done = await p.waitFor(record.id);
    expect(done).toMatchObject({ state: 'completed', downloadRestarts: 1 });
    expect(await p.digest('events', record.id)).toEqual(simRows(done.searchExportId));
    expect(p.sim.stats.faults.early_expiry).toBe(1);
  });

  it('creates the export again when FullStory reports an ERROR, with the same rows', async () => {
    p.sim.injectFault('operation_error');
    const { record } = await p.submit({
      timeRange: { start: '2026-09-01T00:00:00Z', end: '2026-09-02T00:00:00Z' },
    });
    const done = await p.waitFor(record.id);
    expect(done).toMatchObject({ state: 'completed', recreates: 1, rows: 400 });
    expect(await p.digest('events', record.id)).toEqual(simRows(done.searchExportId));
  });

  it('survives a reset and a truncated gzip during download', async () => {
    p.sim.injectFault('reset');
    p.sim.injectFault('truncate');
    const { record } = await p.submit({
      format: 'csv',
      timeRange: { start: '2026-08-01T00:00:00Z', end: '2026-08-02T00:00:00Z' },
    });
    const done = await p.waitFor(record.id);
    expect(done.state).toBe('completed');
    expect(await p.digest('events', record.id)).toEqual(simRows(done.searchExportId));
  });

  it("fails with FullStory's details once re-creation is exhausted", async () => {
    p.sim.injectFault('operation_error', 3);
    const { record } = await p.submit({
      timeRange: { start: '2026-07-01T00:00:00Z', end: '2026-07-02T00:00:00Z' },
    });
    const done = await p.waitFor(record.id);
    expect(done).toMatchObject({ state: 'failed', recreates: 2 });
    expect(done.lastError).toMatch(/could not build the export after 3 tries: export failed/);
  });

  it('cancels an export: pending jobs go, the record says cancelled, nothing more is called', async () => {
    const { record } = await p.submit({
      timeRange: { start: '2026-06-01T00:00:00Z', end: '2026-06-02T00:00:00Z' },
    });
    await p.waitFor(record.id, ['running']);
    const cancelled = await cancelExport(p.runtime.deps.store, p.runtime.deps.queues, record.id);
    expect(cancelled?.state).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 800));
    const after = await p.runtime.deps.store.get(record.id);
    expect(after?.state).toBe('cancelled');
    expect(after?.rows).toBeUndefined();
    expect(await p.digest('events', record.id)).toEqual({ count: 0, hash: '0'.repeat(32) });
  });

  it.each(['duckdb', 'postgres'])(
    'rolls back a %s load whose export is cancelled while it runs',
    async (sinkName) => {
      const deps = p.runtime.deps;
      let loads = 0;
      // The export is cancelled once its ingest has started: the load runs to its commit, then
      // finds the export ended.
      const restoreSink = beforeEachLoad(async (input) => {
        loads += 1;
        await cancelExport(deps.store, deps.queues, input.exportId);
      });
      try {
        const { record } = await p.submit(
          { timeRange: { start: '2026-06-03T00:00:00Z', end: '2026-06-04T00:00:00Z' } },
          undefined,
          sinkName,
        );
        await p.waitFor(record.id, ['cancelled']);
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline && (await stagedFor(record.id)).length > 0)
          await new Promise((r) => setTimeout(r, 50));
        const after = await deps.store.get(record.id);
        expect(after).toMatchObject({ state: 'cancelled' });
        expect(after?.rows).toBeUndefined();
        expect(loads).toBe(1);
        const pg = new PostgresSink({ connectionString: p.config.sinks.postgresUrl as string });
        const digest = await (sinkName === 'duckdb' ? p : pg).digest('events', record.id);
        await pg.close();
        expect(digest.count).toBe(0);
        expect(await stagedFor(record.id)).toEqual([]);
      } finally {
        restoreSink();
      }
    },
  );

  it('returns the same export for a repeated idempotency key and enqueues it once', async () => {
    const range = { start: '2026-05-01T00:00:00Z', end: '2026-05-02T00:00:00Z' };
    const first = await p.submit({ timeRange: range }, 'key-123');
    const second = await p.submit({ timeRange: range }, 'key-123');
    expect(second.created).toBe(false);
    expect(second.record.id).toBe(first.record.id);
    const done = await p.waitFor(first.record.id);
    expect(done.state).toBe('completed');
    const created = Object.values(p.sim.stats.exports).filter(
      (e) => e.timeRange.start === '2026-05-01T00:00:00.000Z',
    );
    expect(created).toHaveLength(1);
  });

  it('POSTs the final record to the callbackUrl, signed, retrying until the receiver accepts', async () => {
    const received: { signature: string; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ signature: String(req.headers['fsx-signature']), body });
        res.writeHead(received.length === 1 ? 503 : 204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const secret = 'callback-secret-0123456789';
    const logged: string[] = [];
    const logger = createLogger({
      name: 'callbacks',
      pretty: false,
      destination: { write: (line: string) => void logged.push(line) },
    });
    const callbacks = createCallbackWorker(
      { store: p.runtime.deps.store, secret, logger },
      { connection: redis.connect({ maxRetriesPerRequest: null }), prefix: redis.prefix },
    );
    await callbacks.waitUntilReady();
    const { record } = await p.submit(
      { timeRange: { start: '2026-03-01T00:00:00Z', end: '2026-03-02T00:00:00Z' } },
      undefined,
      'duckdb',
      url,
    );
    await p.waitFor(record.id);
    // The first delivery got a 503; BullMQ's backoff (2 s, jittered) brings the second.
    const deadline = Date.now() + 15_000;
    while (received.length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await callbacks.close();
    server.close();
    expect(received).toHaveLength(2);
    // The refusal is in the log, with the receiver's answer.
    expect(logged.join('')).toMatch(/"status":503.*callback refused; will retry/);
    const last = received[1] as { signature: string; body: string };
    const t = Number(/t=(\d+)/.exec(last.signature)?.[1]);
    expect(last.signature).toBe(signCallback(last.body, secret, t));
    expect(JSON.parse(last.body)).toMatchObject({
      id: record.id,
      state: 'completed',
      rows: 400,
      callbackUrl: url,
    });
  }, 30_000);
});
