import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { withPlainCopy } from './plain-copy.js';
import type { LoadInput } from './sink.js';

let dir: string;
let input: LoadInput;
const TEXT = `IndvId,EventType\r\n${'1,click\r\n'.repeat(5000)}`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-plain-copy-'));
  input = { exportId: 'e', kind: 'events', format: 'csv', file: path.join(dir, 'e.csv.gz') };
  await writeFile(input.file, gzipSync(TEXT));
});

const leftovers = async () => (await readdir(dir)).filter((f) => f.includes('.plain.'));

describe('withPlainCopy', () => {
  it('hands work an uncompressed copy, named without .gz, and removes it after', async () => {
    const seen = await withPlainCopy(input, 1 << 20, async (source) => ({
      file: source.file,
      text: await readFile(source.file, 'utf8'),
    }));
    expect(seen.file).toMatch(/\.plain\.csv$/);
    expect(seen.text).toBe(TEXT);
    expect(await leftovers()).toEqual([]);
  });

  it('reads the gzip itself when the copy is off, would be over the cap, or cannot pay (NDJSON)', async () => {
    for (const maxBytes of [0, TEXT.length - 1]) {
      expect(await withPlainCopy(input, maxBytes, async (source) => source.file)).toBe(input.file);
    }
    const ndjson = { ...input, format: 'ndjson' as const };
    expect(await withPlainCopy(ndjson, 1 << 20, async (source) => source.file)).toBe(input.file);
  });

  it('abandons a copy that outgrows the cap despite what the gzip declares, and removes it', async () => {
    // A gzip whose trailer understates its size (as any over 4 GiB does: it is modulo 2^32).
    const lying = path.join(dir, 'lying.csv.gz');
    const bytes = gzipSync(TEXT);
    bytes.writeUInt32LE(10, bytes.length - 4);
    await writeFile(lying, bytes);
    const source = await withPlainCopy({ ...input, file: lying }, 1000, async (s) => s.file);
    expect(source).toBe(lying);
    expect(await leftovers()).toEqual([]);
  });

  it('removes the copy when work fails', async () => {
    await expect(
      withPlainCopy(input, 1 << 20, async () => {
        throw new Error('load failed');
      }),
    ).rejects.toThrow('load failed');
    expect(await leftovers()).toEqual([]);
  });
});
