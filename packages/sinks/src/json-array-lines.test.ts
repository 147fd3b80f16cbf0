import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { JsonArrayLines } from './json-array-lines.js';

/** Feeds `input` in chunks of `size` bytes, so every state must survive a chunk boundary. */
async function split(input: string, size = 3): Promise<string[]> {
  const bytes = Buffer.from(input);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  const out = await text(Readable.from(chunks).pipe(new JsonArrayLines()));
  return out.split('\n').slice(0, -1);
}

describe('JsonArrayLines', () => {
  it('puts each element on a line of its own, whatever the layout', async () => {
    const elements = [
      { a: 1, s: 'comma, bracket ] brace } quote " backslash \\', n: [1, [2, { x: '}' }]] },
      { b: 'line\nbreak' },
      {},
    ];
    const layouts = [
      JSON.stringify(elements),
      `[\n${elements.map((e) => JSON.stringify(e)).join(',\n')}\n]\n`,
      JSON.stringify(elements, null, 2),
    ];
    for (const layout of layouts) {
      for (const size of [1, 3, 4096]) {
        const lines = await split(layout, size);
        expect(lines.map((line) => JSON.parse(line))).toEqual(elements);
      }
    }
  });

  it('keeps a malformed element as its own line and goes on with the next ones', async () => {
    const lines = await split('[\n{"a":1},\n{"a":2, this is not json},\n5,\n{"a":3}\n]');
    expect(lines).toEqual(['{"a":1}', '{"a":2, this is not json}', '5', '{"a":3}']);
  });

  it('ends an array without its closing bracket with what is left, as one line', async () => {
    expect(await split('[{"a":1},{"a":"unterminated')).toEqual(['{"a":1}', '{"a":"unterminated']);
  });

  it('yields nothing for an empty array and refuses a file that is not an array', async () => {
    expect(await split(' [ ] ')).toEqual([]);
    await expect(split('{"a":1}')).rejects.toThrow(/not a JSON array/);
    await expect(split('')).rejects.toThrow(/not a JSON array/);
  });

  it('refuses an element past 16 MiB instead of holding the rest of the file', async () => {
    const huge = `[{"a":"${'x'.repeat(17 * 2 ** 20)}`;
    await expect(split(huge, 1 << 20)).rejects.toThrow(/exceeds/);
  });
});
