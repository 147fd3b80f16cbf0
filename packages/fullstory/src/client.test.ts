import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createSimulator, type Simulator, type SimulatorOptions } from '@fsx/fullstory-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkLocation,
  DownloadExpiredError,
  DownloadRejectedError,
  ForbiddenError,
  FullStoryClient,
  InvalidRequestError,
  isFullStoryError,
  NotFoundError,
  RateLimitedError,
  TransientError,
  UnauthorizedError,
  UnexpectedResponseError,
  unescapeLocation,
} from './index.js';

const ADMIN = 'na1.sim-admin';
const DAY = { start: '2026-11-01T00:00:00Z', end: '2026-11-02T00:00:00Z' };
const sims: Simulator[] = [];
let dir: string;

async function setup(
  options: SimulatorOptions = {},
  apiKey = ADMIN,
  requestStyle?: 'workflow' | 'openapi',
) {
  const sim = createSimulator({ operationMs: 0, rowsPerExport: 200, ...options });
  sims.push(sim);
  const baseUrl = await sim.listen();
  return {
    sim,
    client: new FullStoryClient({
      baseUrl,
      apiKey,
      timeoutMs: 2_000,
      ...(requestStyle ? { requestStyle } : {}),
    }),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-client-'));
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

async function exportLocation(client: FullStoryClient, format: 'json' | 'ndjson' | 'csv' = 'json') {
  const { operationId } = await client.createSegmentExport({
    segmentId: 'everyone',
    type: 'events',
    format,
    timeRange: DAY,
  });
  const operation = await client.getOperation(operationId);
  expect(operation).toMatchObject({ state: 'COMPLETED', done: true, estimatePctComplete: 100 });
  return { operation, ...(await client.getExportResults(operation.searchExportId as string)) };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('FullStoryClient against the simulator', () => {
  it('lists every segment across pages and gets one', async () => {
    const { client, sim } = await setup({ paginationStyle: 'openapi' });
    let pages = 0;
    const segments = await client.listSegments(async () => {
      pages += 1;
    });
    expect(segments).toHaveLength(45);
    expect(pages).toBe(1);
    const page = await client.listSegmentsPage(undefined, 20);
    expect(page.nextPageToken).toEqual(expect.any(String));
    expect((await client.getSegment('seg001Xq9')).name).toBe('Rage clickers');
    expect(sim.stats.requests['GET /segments/v1']?.['200']).toBe(2);
  });

  it.each(['workflow', 'openapi'] as const)(
    'runs a whole export in the %s request style',
    async (style) => {
      const { client, sim } = await setup({}, ADMIN, style);
      const { location, operation } = await exportLocation(client, 'csv');
      expect(location).not.toContain('\\u0026');
      const file = path.join(dir, `whole-${style}.csv.gz`);
      const result = await client.downloadExport(location, file);
      expect(result.fileName).toMatch(/^Everyone\.\d{8}\.csv\.gz$/);
      expect(result.bytes).toBe(sim.stats.exports[operation.searchExportId as string]?.bytes);
      expect(
        gunzipSync(await readFile(file))
          .toString()
          .split('\r\n')[0],
      ).toMatch(/^IndvId,UserId,/);
    },
  );

  it('takes the download URL straight from the operation when it carries one', async () => {
    const { client } = await setup({ directDownloadUrl: true, failedState: 'FAILED' });
    const { operationId } = await client.createSegmentExport({
      segmentId: 'everyone',
      type: 'individuals',
      format: 'ndjson',
    });
    const operation = await client.getOperation(operationId);
    expect(operation.downloadUrl).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/storage\/.*&X-Goog-Signature=/,
    );
    const result = await client.downloadExport(
      operation.downloadUrl as string,
      path.join(dir, 'direct.gz'),
    );
    expect(result.bytes).toBeGreaterThan(100);
  });

  it('maps ERROR and FAILED to one failed state with FullStory details', async () => {
    for (const failedState of ['ERROR', 'FAILED'] as const) {
      const { client, sim } = await setup({ failedState });
      sim.injectFault('operation_error');
      const { operationId } = await client.createSegmentExport({
        segmentId: 'everyone',
        type: 'events',
        format: 'json',
      });
      expect(await client.getOperation(operationId)).toMatchObject({
        state: 'FAILED',
        done: true,
        errorDetails: expect.stringContaining('failed'),
      });
    }
  });

  it('resumes a download after a reset and ends with the exact bytes', async () => {
    const { client, sim } = await setup({ rowsPerExport: 3000 });
    const { location } = await exportLocation(client);
    const clean = path.join(dir, 'clean.gz');
    await client.downloadExport(location, clean);
    sim.injectFault('reset', 2);
    const resumed = path.join(dir, 'resumed.gz');
    const result = await client.downloadExport(location, resumed);
    expect(result.resumes).toBe(2);
    expect((await readFile(resumed)).equals(await readFile(clean))).toBe(true);
    // Three requests after the clean one. How many were ranged depends on how much of each cut
    // body reached the disk before the reset (under load, none can), so it is not counted here:
    // the partial-file test below pins the Range request down.
    const storage =
      sim.stats.requests['GET /storage/fullstoryapp-search-export/:searchExportId/:fileName'];
    expect((storage?.['200'] ?? 0) + (storage?.['206'] ?? 0)).toBe(4);
    expect(sim.stats.faults.reset).toBe(2);
  });

  it('resumes a partial file left by an earlier attempt, and accepts one that is already whole', async () => {
    const { client, sim } = await setup({ rowsPerExport: 1000 });
    const { location } = await exportLocation(client);
    const whole = path.join(dir, 'whole.gz');
    await client.downloadExport(location, whole);
    const bytes = await readFile(whole);
    const partial = path.join(dir, 'partial.gz');
    await writeFile(partial, bytes.subarray(0, 1000));
    expect((await client.downloadExport(location, partial, { resume: true })).bytes).toBe(
      bytes.length,
    );
    expect((await readFile(partial)).equals(bytes)).toBe(true);
    expect((await client.downloadExport(location, partial, { resume: true })).bytes).toBe(
      bytes.length,
    );
    // The rest by Range, then a Range past the end for the whole file: nothing downloaded twice.
    const storage =
      sim.stats.requests['GET /storage/fullstoryapp-search-export/:searchExportId/:fileName'];
    expect(storage).toEqual({ '200': 1, '206': 1, '416': 1 });
  });

  it('gives up with a TransientError when resets never stop', async () => {
    const { client, sim } = await setup({ rowsPerExport: 3000 });
    const { location } = await exportLocation(client);
    sim.injectFault('reset', 10);
    const error = await caught(client.downloadExport(location, path.join(dir, 'never.gz')));
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/incomplete after 5 resumes/);
  });

  it('says DownloadExpiredError for the ExpiredToken XML', async () => {
    const { client, sim } = await setup();
    const { operation } = await exportLocation(client);
    sim.injectFault('early_expiry');
    const { location } = await client.getExportResults(operation.searchExportId as string);
    const error = await caught(client.downloadExport(location, path.join(dir, 'expired.gz')));
    expect(error).toBeInstanceOf(DownloadExpiredError);
    expect(isFullStoryError(error, 'fullstory.download_expired')).toBe(true);
    expect((error as DownloadExpiredError).retryable).toBe(true);
  });

  it('refuses locations off the allow-list or over plain http to a remote host', async () => {
    const { client } = await setup();
    const allowListed = new FullStoryClient({
      apiKey: ADMIN,
      downloadHosts: ['storage.googleapis.com'],
    });
    const { location } = await exportLocation(client);
    expect(
      await caught(allowListed.downloadExport(location, path.join(dir, 'x.gz'))),
    ).toBeInstanceOf(DownloadRejectedError);
    expect(
      await caught(client.downloadExport('http://example.com/file.gz', path.join(dir, 'x.gz'))),
    ).toBeInstanceOf(DownloadRejectedError);
  });

  it('allows plain http to a remote host only where its allow-list entry names http', () => {
    // docker-compose's demo downloads from the simulator's container, by name, over http.
    const named = ['storage.googleapis.com', 'http://fullstory-sim:8787'];
    expect(checkLocation('http://fullstory-sim:8787/storage/x.gz', named).host).toBe(
      'fullstory-sim:8787',
    );
    expect(checkLocation('https://storage.googleapis.com/x.gz', named).hostname).toBe(
      'storage.googleapis.com',
    );
    for (const refused of [
      'http://storage.googleapis.com/x.gz', // its entry does not name http
      'http://fullstory-sim:9999/x.gz', // the entry names another port
      'http://example.com/x.gz',
    ]) {
      expect(() => checkLocation(refused, named)).toThrow(DownloadRejectedError);
    }
    expect(() => checkLocation('http://fullstory-sim:8787/x.gz', ['fullstory-sim:8787'])).toThrow(
      /refusing http: location/,
    );
  });

  it('says RateLimitedError with Retry-After in ms on 429', async () => {
    const { client } = await setup({ quota: { burst: 1, perMinute: 6 } });
    await client.getSegment('everyone');
    const error = await caught(client.getSegment('everyone'));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBe(10_000);
    expect((error as RateLimitedError).status).toBe(429);
  });

  it('says UnauthorizedError for an unknown key and ForbiddenError for a standard one', async () => {
    const { client: unknown } = await setup({}, 'na1.nobody');
    expect(await caught(unknown.getSegment('everyone'))).toBeInstanceOf(UnauthorizedError);
    const { client: standard } = await setup({}, 'na1.sim-standard');
    const forbidden = await caught(
      standard.createSegmentExport({ segmentId: 'everyone', type: 'events', format: 'json' }),
    );
    expect(forbidden).toBeInstanceOf(ForbiddenError);
    expect((forbidden as Error).message).toMatch(/Admin or Architect/);
  });

  it('says NotFoundError and InvalidRequestError with field details', async () => {
    const { client } = await setup();
    expect(await caught(client.getSegment('ghost'))).toBeInstanceOf(NotFoundError);
    expect(await caught(client.getOperation('ghost'))).toBeInstanceOf(NotFoundError);
    const invalid = await caught(
      client.createSegmentExport({
        segmentId: 'everyone',
        type: 'events',
        format: 'json',
        timeRange: { start: DAY.end, end: DAY.start },
      }),
    );
    expect(invalid).toBeInstanceOf(InvalidRequestError);
    expect((invalid as InvalidRequestError).details).toEqual([
      { field: 'timeRange', description: 'start must be before end' },
    ]);
  });

  it('says TransientError for 503s, resets and timeouts', async () => {
    const { client, sim } = await setup({ slowMs: 3_000 });
    sim.injectFault('server_error');
    const unavailable = await caught(client.getSegment('everyone'));
    expect(unavailable).toBeInstanceOf(TransientError);
    expect((unavailable as TransientError).status).toBe(503);
    sim.injectFault('slow');
    const slow = await caught(client.getSegment('everyone'));
    expect(slow).toBeInstanceOf(TransientError);
    expect((slow as Error).message).toMatch(/timed out/);
    const refused = new FullStoryClient({ baseUrl: 'http://127.0.0.1:1', apiKey: ADMIN });
    expect(await caught(refused.getSegment('everyone'))).toBeInstanceOf(TransientError);
  });

  it('says UnexpectedResponseError showing what arrived when a 2xx has the wrong shape', async () => {
    const server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"DONE"}'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new FullStoryClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: ADMIN });
    const error = await caught(client.getOperation('weird'));
    server.close();
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect((error as Error).message).toContain('{"status":"DONE"}');
  });

  it('lists legacy bundles across 20-item pages and downloads one', async () => {
    const origin = new Date(Date.now() - 45 * 3_600_000).toISOString();
    const { client } = await setup({ bundles: { origin, minutes: 60, rows: 25 } });
    const bundles = await client.listBundles(0);
    expect(bundles.length).toBeGreaterThanOrEqual(44);
    expect(new Set(bundles.map((b) => b.id)).size).toBe(bundles.length);
    const file = path.join(dir, 'bundle.json.gz');
    const result = await client.downloadBundle(bundles[0]?.id as string, file);
    expect(result.fileName).toBe('DataExport.json.gz');
    expect(
      JSON.parse(
        gunzipSync(await readFile(file))
          .toString()
          .replace(/(\d{16,})/g, '"$1"'),
      ),
    ).toHaveLength(25);
  });

  it('never puts the API key in an error message', async () => {
    const { client, sim } = await setup({}, 'na1.sim-admin');
    sim.injectFault('server_error');
    const errors = [
      await caught(client.getSegment('everyone')),
      await caught(client.getSegment('ghost')),
    ];
    for (const error of errors)
      expect(
        JSON.stringify({ message: (error as Error).message, ...(error as object) }),
      ).not.toContain('sim-admin');
  });
});

describe('unescapeLocation', () => {
  it('undoes a literal \\u0026 left after JSON parsing', () => {
    expect(unescapeLocation('https://storage.googleapis.com/x/some\\u0026long\\u0026url')).toBe(
      'https://storage.googleapis.com/x/some&long&url',
    );
  });
});

describe('error codes', () => {
  it('mark which errors a retry can fix', () => {
    expect(new RateLimitedError(1000).retryable).toBe(true);
    expect(new TransientError('x').retryable).toBe(true);
    expect(new ForbiddenError('x').retryable).toBe(false);
    expect(new InvalidRequestError('x').retryable).toBe(false);
    expect(isFullStoryError(new Error('x'))).toBe(false);
    expect(isFullStoryError({ code: 'fullstory.not_found' }, 'fullstory.not_found')).toBe(true);
  });
});
