import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { FullStoryClient } from '@fsx/fullstory';
import { describe, expect, it } from 'vitest';
import { GzipBombError, inflateGzip, StagingStore, verifyGzip } from './index.js';

describe('staging and download safety', () => {
  it('stops reading a gzip bomb at the decompressed-size cap', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-bomb-'));
    const bomb = path.join(dir, 'bomb.gz');
    await writeFile(bomb, gzipSync(Buffer.alloc(20 * 1024 * 1024)));
    await expect(verifyGzip(bomb, 1024 * 1024)).rejects.toBeInstanceOf(GzipBombError);
    expect(await verifyGzip(bomb)).toBe(20 * 1024 * 1024);
  });

  it('stages the text of a whole gzip, and nothing of a bomb or a cut file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-inflate-'));
    const staging = new StagingStore(dir);
    const text = Buffer.from('{"IndvId":1}\n'.repeat(50_000));
    const gz = staging.pathFor('exp-1', 'ndjson');
    await writeFile(gz, gzipSync(text));
    const target = staging.textPathFor('exp-1', 'ndjson');
    expect(target).toBe(path.join(dir, 'exp-1.ndjson'));
    await expect(inflateGzip(gz, target, text.length - 1)).rejects.toBeInstanceOf(GzipBombError);
    await writeFile(`${gz}.cut`, gzipSync(text).subarray(0, 1_000));
    await expect(inflateGzip(`${gz}.cut`, target)).rejects.toThrow(/unexpected end/);
    // Neither left a partial text behind, under the text's name or beside it.
    expect((await readdir(dir)).sort()).toEqual(['exp-1.ndjson.gz', 'exp-1.ndjson.gz.cut']);
    expect(await inflateGzip(gz, target, text.length)).toBe(text.length);
    expect((await readFile(target)).equals(text)).toBe(true);
    // Removing the staged text removes its gzip and whatever else a load left beside it.
    await staging.remove(target);
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes what a killed load left beside a staged file, and only that', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-staging-'));
    const staging = new StagingStore(dir);
    const file = staging.pathFor('exp-1', 'ndjson');
    const names = [
      'exp-1.ndjson.gz',
      'exp-1.ndjson.gz.4242.fsx_witness_ab12.ndjson.gz',
      'exp-1.ndjson.gz.4242.9f3c.careful.ndjson.zst',
      'exp-10.ndjson.gz',
      'exp-1.csv.gz',
    ];
    for (const name of names) await writeFile(path.join(dir, name), 'x');
    await staging.remove(file);
    expect((await readdir(dir)).sort()).toEqual(['exp-1.csv.gz', 'exp-10.ndjson.gz']);
  });

  it('names staged files by export id, never by anything a server sent', async () => {
    const staging = new StagingStore('/var/fsx/staging');
    expect(staging.pathFor('0f8e6a52-1b7c-4c55-9d8e-0a1b2c3d4e5f', 'csv')).toBe(
      '/var/fsx/staging/0f8e6a52-1b7c-4c55-9d8e-0a1b2c3d4e5f.csv.gz',
    );
    expect(() => staging.pathFor('../../etc/passwd', 'csv')).toThrow(/unsafe/);
    const server = createServer((_req, res) => {
      res.writeHead(200, {
        'content-disposition': 'attachment; filename="../../../tmp/evil.sh"',
        'content-length': '3',
      });
      res.end('abc');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-name-'));
    const target = path.join(dir, 'chosen-by-fsx.gz');
    const result = await new FullStoryClient({ apiKey: 'k' }).downloadExport(
      `http://127.0.0.1:${port}/x`,
      target,
    );
    server.close();
    expect(result).toMatchObject({ bytes: 3, fileName: '../../../tmp/evil.sh' });
    expect(await readdir(dir)).toEqual(['chosen-by-fsx.gz']);
  });
});
