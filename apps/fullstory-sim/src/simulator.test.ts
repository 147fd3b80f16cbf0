import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator, type SimulatorOptions } from './index.js';
import { ADMIN, call, download, rowsOf, STANDARD, sha256 } from './sim-test-helpers.js';

const sims: Simulator[] = [];
async function start(options: SimulatorOptions = {}) {
  const sim = createSimulator({ operationMs: 0, rowsPerExport: 50, ...options });
  sims.push(sim);
  return { sim, base: await sim.listen() };
}
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

const DAY = { start: '2026-11-01T00:00:00Z', end: '2026-11-02T00:00:00Z' };

async function completedExport(
  base: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  const created = await call(base, 'POST', '/segments/v1/exports', { body, headers });
  expect(created.status).toBe(200);
  const operation = await call(base, 'GET', `/operations/v1/${created.json.operationId}`);
  expect(operation.json.state).toBe('COMPLETED');
  const results = await call(
    base,
    'GET',
    `/search/v1/exports/${operation.json.results.searchExportId}/results`,
  );
  expect(results.status).toBe(200);
  return {
    operationId: created.json.operationId as string,
    searchExportId: operation.json.results.searchExportId as string,
    results,
  };
}

describe('segments', () => {
  let base: string;
  beforeAll(async () => ({ base } = await start()));

  it('pages with a default of 20, a maximum of 100, and both token spellings', async () => {
    const first = await call(base, 'GET', '/segments/v1');
    expect(first.json.segments).toHaveLength(20);
    expect(first.json.segments[0]).toEqual({
      id: 'everyone',
      name: 'Everyone',
      creator: 'FullStory',
      url: expect.any(String),
    });
    const token = first.json.nextPaginationToken;
    const second = await call(base, 'GET', `/segments/v1?paginationToken=${token}&limit=100`);
    const sameViaOpenApiName = await call(
      base,
      'GET',
      `/segments/v1?pagination_token=${token}&limit=100`,
    );
    expect(second.json.segments).toHaveLength(25);
    expect(second.json.nextPaginationToken).toBeUndefined();
    expect(sameViaOpenApiName.json).toEqual(second.json);
    expect((await call(base, 'GET', '/segments/v1?limit=101')).status).toBe(400);
    expect((await call(base, 'GET', '/segments/v1?limit=0')).status).toBe(400);
  });

  it('gets one segment, created only for non-built-in ones, and 404s otherwise', async () => {
    const everyone = await call(base, 'GET', '/segments/v1/everyone');
    expect(everyone.json.created).toBeUndefined();
    const custom = await call(base, 'GET', '/segments/v1/seg001Xq9');
    expect(custom.json).toMatchObject({
      id: 'seg001Xq9',
      name: 'Rage clickers',
      created: '2025-01-01T00:00:00.000Z',
    });
    const missing = await call(base, 'GET', '/segments/v1/nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ code: 'resource_not_found', message: 'segment not found' });
  });

  it('uses the OpenAPI pagination_token name when asked to', async () => {
    const { base: openapi } = await start({ paginationStyle: 'openapi' });
    const page = await call(openapi, 'GET', '/segments/v1');
    expect(page.json.pagination_token).toEqual(expect.any(String));
    expect(page.json.nextPaginationToken).toBeUndefined();
  });
});

describe('auth', () => {
  let base: string;
  beforeAll(
    async () =>
      ({ base } = await start({
        apiKeys: {
          [ADMIN]: 'admin',
          [STANDARD]: 'standard',
          'eu1.arch': 'architect',
          legacykey: 'admin',
        },
      })),
  );

  it('answers 401 for a missing or unknown key and 403 for a standard key', async () => {
    expect(await call(base, 'GET', '/segments/v1', { key: null })).toMatchObject({
      status: 401,
      json: { code: 'unauthorized' },
    });
    expect(await call(base, 'GET', '/segments/v1', { key: 'na1.wrong' })).toMatchObject({
      status: 401,
    });
    const forbidden = await call(base, 'POST', '/segments/v1/exports', {
      key: STANDARD,
      body: { segmentId: 'everyone', type: 'TYPE_EVENT' },
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.message).toMatch(/Admin or Architect/);
  });

  it('accepts architect, legacy unprefixed and base64 keys, and names the data realm', async () => {
    const eu = await call(base, 'GET', '/segments/v1/everyone', { key: 'eu1.arch' });
    expect(eu.status).toBe(200);
    expect(eu.headers['x-fullstory-data-realm']).toBe('eu1');
    expect((await call(base, 'GET', '/segments/v1/everyone', { key: 'legacykey' })).status).toBe(
      200,
    );
    const encoded = Buffer.from(`${ADMIN}:`).toString('base64');
    expect((await call(base, 'GET', '/segments/v1/everyone', { key: encoded })).status).toBe(200);
  });
});

describe('creating exports', () => {
  let base: string;
  beforeAll(async () => ({ base } = await start()));

  it.each([
    ['TYPE_EVENT', 'FORMAT_JSON'],
    ['TYPE_INDIVIDUAL', 'FORMAT_CSV'],
    ['TYPE_EVENT', 'FORMAT_NDJSON'],
    ['events', 'json'],
    ['individuals', 'csv'],
  ])('accepts type %s with format %s', async (type, format) => {
    const created = await call(base, 'POST', '/segments/v1/exports', {
      body: {
        segmentId: 'everyone',
        type,
        format,
        timeRange: DAY,
        segmentTimeRange: { start: '', end: '' },
      },
    });
    expect(created.status).toBe(200);
    expect(created.json).toEqual({ operationId: expect.any(String) });
  });

  it('rejects bad bodies with 400 and every field problem', async () => {
    const bad = await call(base, 'POST', '/segments/v1/exports', {
      body: {
        type: 'TYPE_PAGES',
        format: 'xml',
        timeRange: { start: 'yesterday', end: '' },
        fields: ['A', 'A'],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('invalid_argument');
    expect(bad.json.details.map((d: { field: string }) => d.field)).toEqual([
      'segmentId',
      'type',
      'format',
      'timeRange.start',
      'fields',
    ]);
    const reversed = await call(base, 'POST', '/segments/v1/exports', {
      body: {
        segmentId: 'everyone',
        type: 'events',
        timeRange: { start: DAY.end, end: DAY.start },
      },
    });
    expect(reversed.json.details).toEqual([
      { field: 'timeRange', description: 'start must be before end' },
    ]);
    const unknownSegment = await call(base, 'POST', '/segments/v1/exports', {
      body: { segmentId: 'ghost', type: 'events' },
    });
    expect(unknownSegment.status).toBe(404);
  });
});

describe('operations', () => {
  it('go PENDING, RUNNING, COMPLETED with a rising percentage', async () => {
    const { base } = await start({ operationMs: 600 });
    const { json } = await call(base, 'POST', '/segments/v1/exports', {
      body: { segmentId: 'everyone', type: 'events', timeRange: DAY },
    });
    const seen: { state: string; pct: number }[] = [];
    for (let i = 0; i < 40; i++) {
      const op = await call(base, 'GET', `/operations/v1/${json.operationId}`);
      seen.push({ state: op.json.state, pct: op.json.estimatePctComplete });
      if (op.json.state === 'COMPLETED') {
        expect(op.json).toMatchObject({
          type: 'SEARCH_EXPORT',
          errorDetails: '',
          estimatePctComplete: 100,
        });
        expect(Date.parse(op.json.finishedAt)).toBeGreaterThan(Date.parse(op.json.createdAt));
        expect(op.json.results).toEqual({
          searchExportId: expect.any(String),
          expires: expect.any(String),
        });
        break;
      }
      expect(op.json.results).toBeNull();
      expect(op.json.finishedAt).toBeNull();
      await new Promise((r) => setTimeout(r, 25));
    }
    const states = [...new Set(seen.map((s) => s.state))];
    expect(states).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    const pcts = seen.map((s) => s.pct);
    expect(pcts).toEqual([...pcts].sort((a, b) => a - b));
    expect(pcts.filter((p) => p > 0 && p < 100).length).toBeGreaterThan(3);
  });

  it('fail with errorDetails when the operation_error fault hits, in either spelling', async () => {
    for (const failedState of ['ERROR', 'FAILED'] as const) {
      const { base, sim } = await start({ failedState });
      const { json } = await call(base, 'POST', '/segments/v1/exports', {
        body: { segmentId: 'everyone', type: 'events' },
        headers: { 'x-sim-fault': 'operation_error' },
      });
      const op = await call(base, 'GET', `/operations/v1/${json.operationId}`);
      expect(op.json).toMatchObject({
        state: failedState,
        results: null,
        errorDetails: expect.stringContaining('failed'),
      });
      expect(sim.stats.faults.operation_error).toBe(1);
    }
  });

  it('404 for an unknown operation, or one created with another key', async () => {
    const { base } = await start({ apiKeys: { [ADMIN]: 'admin', 'na1.other': 'admin' } });
    const { json } = await call(base, 'POST', '/segments/v1/exports', {
      body: { segmentId: 'everyone', type: 'events' },
    });
    expect((await call(base, 'GET', '/operations/v1/nope')).status).toBe(404);
    expect(
      (await call(base, 'GET', `/operations/v1/${json.operationId}`, { key: 'na1.other' })).status,
    ).toBe(404);
  });
});

describe('results and downloads', () => {
  let base: string;
  let sim: Simulator;
  beforeAll(async () => ({ base, sim } = await start({ rowsPerExport: 300 })));

  it('writes & as \\u0026 in the location, which JSON parsing undoes', async () => {
    const { results } = await completedExport(base, {
      segmentId: 'everyone',
      type: 'TYPE_EVENT',
      timeRange: DAY,
    });
    expect(results.text).toContain('\\u0026');
    expect(results.text).not.toContain('&');
    expect(results.json.location).toContain('&X-Goog-Signature=');
    expect(Date.parse(results.json.expires)).toBeGreaterThan(Date.now());
  });

  it.each(['FORMAT_JSON', 'FORMAT_NDJSON', 'FORMAT_CSV'])(
    'serves %s gzipped, with the rows the stats report',
    async (format) => {
      const short = format.replace('FORMAT_', '').toLowerCase();
      const { searchExportId, results } = await completedExport(base, {
        segmentId: 'everyone',
        type: 'TYPE_EVENT',
        format,
        timeRange: DAY,
      });
      const file = await download(results.json.location);
      expect(file.status).toBe(200);
      expect(file.headers['content-type']).toBe('application/gzip');
      expect(file.headers['content-encoding']).toBeUndefined();
      expect(file.headers['content-disposition']).toMatch(
        new RegExp(`filename="Everyone\\.\\d{8}\\.${short}\\.gz"`),
      );
      const rows = rowsOf(file.bytes, short);
      expect(rows).toHaveLength(300);
      expect(sim.stats.exports[searchExportId]).toMatchObject({
        rows: 300,
        bytes: file.bytes.length,
        downloads: 1,
      });
      const { RowDigest } = await import('@fsx/export-schema');
      const digest = new RowDigest();
      for (const row of rows) digest.add(row as Record<string, string>);
      expect(digest.hash).toBe(sim.stats.exports[searchExportId]?.hash);
      for (const row of rows) {
        const at = Date.parse(row.EventStart as string);
        expect(at).toBeGreaterThanOrEqual(Date.parse(DAY.start));
        expect(at).toBeLessThan(Date.parse(DAY.end));
      }
    },
  );

  it('keeps ids above 2^53 exact, leaves out fields that do not apply, and has unicode and quoting', async () => {
    const { results } = await completedExport(base, {
      segmentId: 'everyone',
      type: 'events',
      format: 'json',
      timeRange: DAY,
    });
    const text = gunzipSync((await download(results.json.location)).bytes).toString('utf8');
    const ids = [...text.matchAll(/"UserId":(\d+)/g)].map((m) => BigInt(m[1] as string));
    expect(ids.some((id) => id > 2n ** 53n)).toBe(true);
    expect([...text].some((ch) => ch.charCodeAt(0) > 127)).toBe(true);
    const rows = rowsOf((await download(results.json.location)).bytes, 'json');
    expect(rows.some((r) => !('EventCustomName' in r))).toBe(true);
    expect(rows.some((r) => r.EventCustomName && r.evt_price_real !== undefined)).toBe(true);
  });

  it('supports Range requests that piece the file together', async () => {
    const { results } = await completedExport(base, {
      segmentId: 'everyone',
      type: 'individuals',
      format: 'csv',
      timeRange: DAY,
    });
    const whole = await download(results.json.location);
    const head = await download(results.json.location, { range: 'bytes=0-99' });
    const tail = await download(results.json.location, { range: 'bytes=100-' });
    expect(head.status).toBe(206);
    expect(tail.headers['content-range']).toBe(
      `bytes 100-${whole.bytes.length - 1}/${whole.bytes.length}`,
    );
    expect(Buffer.concat([head.bytes, tail.bytes]).equals(whole.bytes)).toBe(true);
    expect(
      (await download(results.json.location, { range: `bytes=${whole.bytes.length}-` })).status,
    ).toBe(416);
  });

  it('refuses a tampered signature', async () => {
    const { results } = await completedExport(base, {
      segmentId: 'everyone',
      type: 'events',
      timeRange: DAY,
    });
    const tampered = results.json.location.replace(
      /X-Goog-Signature=[0-9a-f]{4}/,
      'X-Goog-Signature=0000',
    );
    const response = await download(tampered);
    expect(response.status).toBe(403);
    expect(response.bytes.toString()).toContain('SignatureDoesNotMatch');
  });

  it('404s results for an export that is not done', async () => {
    const { base: slow } = await start({ operationMs: 60_000 });
    const { json } = await call(slow, 'POST', '/segments/v1/exports', {
      body: { segmentId: 'everyone', type: 'events' },
    });
    expect((await call(slow, 'GET', `/operations/v1/${json.operationId}`)).json.state).toBe(
      'PENDING',
    );
    expect((await call(slow, 'GET', '/search/v1/exports/nope/results')).status).toBe(404);
  });

  it('carries a direct downloadUrl on the operation when configured (the OpenAPI shape)', async () => {
    const { base: direct } = await start({ directDownloadUrl: true });
    const { json } = await call(direct, 'POST', '/segments/v1/exports', {
      body: { segmentId: 'everyone', type: 'events', timeRange: DAY },
    });
    const op = await call(direct, 'GET', `/operations/v1/${json.operationId}`);
    expect(op.text).toContain('\\u0026');
    expect(op.json.results.downloadUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/storage\//);
    expect((await download(op.json.results.downloadUrl)).status).toBe(200);
  });
});

describe('expiry', () => {
  it('answers the ExpiredToken XML after the URL expires', async () => {
    const { base } = await start({ urlTtlMs: 150 });
    const { results } = await completedExport(base, {
      segmentId: 'everyone',
      type: 'events',
      timeRange: DAY,
    });
    await new Promise((r) => setTimeout(r, 200));
    const expired = await download(results.json.location);
    expect(expired.status).toBe(400);
    expect(expired.bytes.toString()).toMatch(
      /<Error><Code>ExpiredToken<\/Code><Message>The provided token has expired\.<\/Message><Details>Request signature expired at: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00<\/Details><\/Error>/,
    );
  });

  it('expires a URL early under the early_expiry fault while promising the usual lifetime', async () => {
    const { base, sim } = await start();
    const { results, searchExportId } = await completedExport(base, {
      segmentId: 'everyone',
      type: 'events',
      timeRange: DAY,
    });
    sim.injectFault('early_expiry');
    const again = await call(base, 'GET', `/search/v1/exports/${searchExportId}/results`);
    expect(Date.parse(again.json.expires) - Date.now()).toBeGreaterThan(60_000);
    expect((await download(again.json.location)).status).toBe(400);
    expect((await download(results.json.location)).status).toBe(200);
    expect(sim.stats.faults.early_expiry).toBe(1);
  });
});

describe('faults', () => {
  let base: string;
  let sim: Simulator;
  beforeAll(async () => ({ base, sim } = await start({ rowsPerExport: 2000, slowMs: 300 })));

  it('503s an API call on request and counts it', async () => {
    const response = await call(base, 'GET', '/segments/v1', {
      headers: { 'x-sim-fault': 'server_error' },
    });
    expect(response.status).toBe(503);
    expect(sim.stats.faults.server_error).toBeGreaterThanOrEqual(1);
    expect(sim.stats.requests['GET /segments/v1']?.['503']).toBe(1);
  });

  it('slows a response down', async () => {
    const started = Date.now();
    await call(base, 'GET', '/segments/v1/everyone', { headers: { 'x-sim-fault': 'slow' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('resets the connection mid-body after promising the whole length', async () => {
    const { results } = await completedExport(base, {
      segmentId: 'everyone',
      type: 'events',
      timeRange: DAY,
    });
    const whole = await download(results.json.location);
    sim.injectFault('reset');
    await expect(download(results.json.location)).rejects.toThrow();
    expect(sim.stats.faults.reset).toBe(1);
    expect(whole.bytes.length).toBeGreaterThan(1000);
  });

  it('truncates a gzip body so it cannot be decompressed', async () => {
    const { results } = await completedExport(base, {
      segmentId: 'everyone',
      type: 'events',
      timeRange: DAY,
    });
    sim.injectFault('truncate');
    const cut = await download(results.json.location);
    expect(cut.status).toBe(200);
    expect(() => gunzipSync(cut.bytes)).toThrow(/unexpected end of file/);
    expect(sim.stats.faults.truncate).toBe(1);
  });

  it('injects faults over HTTP for simulators in other processes', async () => {
    const injected = await call(base, 'POST', '/__sim/faults', {
      body: { kind: 'server_error', times: 2 },
    });
    expect(injected.status).toBe(200);
    expect((await call(base, 'GET', '/segments/v1/everyone')).status).toBe(503);
    expect((await call(base, 'GET', '/segments/v1/everyone')).status).toBe(503);
    expect((await call(base, 'GET', '/segments/v1/everyone')).status).toBe(200);
    expect((await call(base, 'POST', '/__sim/faults', { body: { kind: 'gremlins' } })).status).toBe(
      400,
    );
  });

  it('applies fault rates', async () => {
    const { base: flaky, sim: flakySim } = await start({ faultRates: { server_error: 0.5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++)
      statuses.push((await call(flaky, 'GET', '/segments/v1/everyone')).status);
    const failures = statuses.filter((s) => s === 503).length;
    expect(failures).toBeGreaterThan(8);
    expect(failures).toBeLessThan(32);
    expect(flakySim.stats.faults.server_error).toBe(failures);
  });
});

describe('quota', () => {
  it('allows the burst, then answers 429 with Retry-After in seconds, then refills', async () => {
    const { base, sim } = await start({ quota: { burst: 3, perMinute: 120 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await call(base, 'GET', '/segments/v1/everyone')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await call(base, 'GET', '/segments/v1/everyone');
    expect(limited.json).toEqual({ code: 'too_many_requests', message: 'rate limit exceeded' });
    expect(Number(limited.headers['retry-after'])).toBe(1);
    await new Promise((r) => setTimeout(r, 550));
    expect((await call(base, 'GET', '/segments/v1/everyone')).status).toBe(200);
    expect(sim.stats.rateLimited).toBe(2);
  });

  it('keeps one bucket per key', async () => {
    const { base } = await start({
      quota: { burst: 1, perMinute: 1 },
      apiKeys: { a: 'admin', b: 'admin' },
    });
    expect((await call(base, 'GET', '/segments/v1/everyone', { key: 'a' })).status).toBe(200);
    expect((await call(base, 'GET', '/segments/v1/everyone', { key: 'a' })).status).toBe(429);
    expect((await call(base, 'GET', '/segments/v1/everyone', { key: 'b' })).status).toBe(200);
  });
});

describe('legacy Data Export', () => {
  let base: string;
  const origin = Date.now() - 50 * 3_600_000;
  beforeAll(
    async () =>
      ({ base } = await start({
        bundles: { origin: new Date(origin).toISOString(), minutes: 60, rows: 40 },
      })),
  );

  it('lists the first 20 bundles whose Stop is after start, oldest first, by GET or POST', async () => {
    const viaGet = await call(
      base,
      'GET',
      `/api/v1/export/list?start=${Math.floor(origin / 1000)}`,
    );
    const bundles = viaGet.json.exports;
    expect(bundles).toHaveLength(20);
    expect(bundles[0]).toEqual({ Start: origin / 1000, Stop: origin / 1000 + 3600, ID: 100000000 });
    expect(bundles.map((b: { Stop: number }) => b.Stop)).toEqual(
      [...bundles.map((b: { Stop: number }) => b.Stop)].sort(),
    );
    const viaPost = await call(base, 'POST', '/api/v1/export/list', {
      body: { start: bundles[19].Stop },
    });
    expect(viaPost.json.exports[0].Start).toBe(bundles[19].Stop);
    const tail = await call(
      base,
      'GET',
      `/api/v1/export/list?start=${bundles[19].Stop + 40 * 3600}`,
    );
    expect(tail.json.exports.length).toBeLessThan(20);
    expect((await call(base, 'GET', '/api/v1/export/list?start=soon')).status).toBe(400);
  });

  it('downloads a bundle as a gzipped JSON array named DataExport.json.gz, 2 a minute', async () => {
    const url = `${base}/api/v1/export/get?id=100000001`;
    const first = await download(url, { authorization: `Basic ${ADMIN}` });
    expect(first.status).toBe(200);
    expect(first.headers['content-disposition']).toContain('DataExport.json.gz');
    expect(rowsOf(first.bytes, 'json')).toHaveLength(40);
    expect((await download(url, { authorization: `Basic ${ADMIN}` })).status).toBe(200);
    const third = await download(url, { authorization: `Basic ${ADMIN}` });
    expect(third.status).toBe(429);
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    expect((await download(`${base}/api/v1/export/get?id=100000001`)).status).toBe(401);
    expect(
      (
        await download(`${base}/api/v1/export/get?id=999999999`, {
          authorization: `Basic ${ADMIN}`,
        })
      ).status,
    ).toBe(404);
  });
});

describe('determinism', () => {
  it('gives the same bytes for the same seed and request, different bytes for another seed', async () => {
    const body = { segmentId: 'everyone', type: 'events', format: 'csv', timeRange: DAY };
    const bytesFor = async (seed: string) => {
      const { base } = await start({ seed, rowsPerExport: 500 });
      const { results } = await completedExport(base, body);
      return sha256((await download(results.json.location)).bytes);
    };
    const [a, b, c] = await Promise.all([bytesFor('alpha'), bytesFor('alpha'), bytesFor('beta')]);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('lets a request choose its size and duration', async () => {
    const { base, sim } = await start({ operationMs: 60_000 });
    const { json } = await call(base, 'POST', '/segments/v1/exports', {
      body: { segmentId: 'everyone', type: 'individuals', format: 'json', timeRange: DAY },
      headers: { 'x-sim-rows': '7', 'x-sim-operation-ms': '0' },
    });
    const op = await call(base, 'GET', `/operations/v1/${json.operationId}`);
    const results = await call(
      base,
      'GET',
      `/search/v1/exports/${op.json.results.searchExportId}/results`,
    );
    expect(rowsOf((await download(results.json.location)).bytes, 'json')).toHaveLength(7);
    expect(sim.stats.exports[op.json.results.searchExportId]?.rows).toBe(7);
  });
});

describe('file cache', () => {
  it('names files by their content, so a second simulator on the same cache reuses them', async () => {
    const { mkdtemp, readdir, stat } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'fsx-sim-cache-test-'));
    const body = {
      segmentId: 'everyone',
      type: 'TYPE_EVENT',
      format: 'FORMAT_NDJSON',
      timeRange: DAY,
    };
    const first = await start({ cacheDir });
    const a = await completedExport(first.base, body);
    const bytesA = await download(a.results.json.location);
    const files = (await readdir(cacheDir)).filter((f) => f.endsWith('.gz'));
    expect(files).toHaveLength(1);
    const before = await stat(path.join(cacheDir, files[0] as string));
    const second = await start({ cacheDir });
    const b = await completedExport(second.base, body);
    const bytesB = await download(b.results.json.location);
    expect(sha256(bytesB.bytes)).toBe(sha256(bytesA.bytes));
    expect((await stat(path.join(cacheDir, files[0] as string))).mtimeMs).toBe(before.mtimeMs);
    expect(second.sim.stats.exports[b.searchExportId]?.hash).toBe(
      first.sim.stats.exports[a.searchExportId]?.hash,
    );
  });
});
