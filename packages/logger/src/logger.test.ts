import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger, everySoOften } from './index.js';

const KEY = 'na1.c2VjcmV0LWtleS1mb3ItdGVzdHM';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination: destination as unknown as import('pino').DestinationStream };
}

describe('createLogger', () => {
  it.each([false, true])('never writes an API key, on any path (pretty=%s)', (pretty) => {
    const { lines, destination } = capture();
    const log = createLogger({ name: 't', pretty, secrets: [KEY], destination });
    log.info({ req: { headers: { authorization: `Basic ${KEY}` } } }, 'request');
    log.info({ apiKey: KEY, nested: { deeper: { value: KEY } } }, 'fields');
    log.info({ url: `https://example.test/x?token=${KEY}` }, `message with ${KEY}`);
    log.error({ err: new Error(`upstream rejected ${KEY}`) }, 'failure');
    log.info({ header: `Basic ${Buffer.from(KEY).toString('base64')}` }, 'base64 form');
    const output = lines.join('');
    expect(lines).toHaveLength(5);
    expect(output).not.toContain(KEY);
    expect(output).not.toContain(Buffer.from(KEY).toString('base64'));
    expect(output.match(/\[REDACTED\]/g)?.length).toBeGreaterThanOrEqual(6);
  });

  it('redacts authorization headers even when the key is not registered', () => {
    const { lines, destination } = capture();
    const log = createLogger({ name: 't', pretty: false, destination });
    log.info({ req: { headers: { authorization: 'Basic unknown-key' } }, apiKey: 'other-key' });
    const record = JSON.parse(lines[0] ?? '{}');
    expect(record.req.headers.authorization).toBe('[REDACTED]');
    expect(record.apiKey).toBe('[REDACTED]');
    expect(record.name).toBe('t');
  });
});

describe('everySoOften', () => {
  it('logs a recurring problem once per period, saying how often it happened since', () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const { lines, destination } = capture();
      const log = createLogger({ name: 't', pretty: false, destination });
      const warn = everySoOften(log, 'warn', 30_000);
      const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
      for (let second = 0; second < 65; second += 1) {
        warn({ err: refused, stage: 'poll' }, 'queue connection problem');
        warn({ err: refused, stage: 'ingest' }, 'queue connection problem');
        if (second === 10) warn({ err: new Error('READONLY') }, 'queue connection problem');
        vi.advanceTimersByTime(1_000);
      }
      const records = lines.map((line) => JSON.parse(line));
      expect(records.map((r) => [r.err.message, r.repeated])).toEqual([
        ['connect ECONNREFUSED 127.0.0.1:6379', undefined],
        ['READONLY', undefined],
        ['connect ECONNREFUSED 127.0.0.1:6379', 60],
        ['connect ECONNREFUSED 127.0.0.1:6379', 60],
      ]);
      expect(records.map((r) => r.time)).toEqual([0, 10_000, 30_000, 60_000]);
    } finally {
      vi.useRealTimers();
    }
  });
});
