import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadSimulatorConfig, secretValues, sizeBytes } from './index.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.variable}: ${p.message}`);
  }
  throw new Error('expected loadConfig to fail');
}

describe('loadConfig', () => {
  it('gives working defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: '{fsx}' });
    expect(config.fullstory.baseUrl).toBe('https://api.fullstory.com');
    expect(config.fullstory.quota).toEqual({ burst: 50, perMinute: 2 });
    expect(config.intake.port).toBe(3000);
    expect(config.sinks.default).toBe('duckdb');
    expect(config.sinks.duckdbPath).toBe(path.resolve('data/fsx.duckdb'));
    expect(config.sinks.newFields).toBe('columns');
    expect(loadConfig({ SINK_NEW_FIELDS: 'extras' }).sinks.newFields).toBe('extras');
    expect(config.sinks.duckdbThreads).toBeUndefined(); // The sinks fit it to the memory limit.
    expect(loadConfig({ DUCKDB_THREADS: '4' }).sinks.duckdbThreads).toBe(4);
  });

  it('names every bad variable and what is wrong with it', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      REDIS_URL: 'localhost:6379',
      QUOTA_BURST: '-1',
      DEFAULT_SINK: 'oracle',
      SINK_NEW_FIELDS: 'drop',
      DUCKDB_THREADS: '0',
      DUCKDB_MEMORY_LIMIT: '64MB',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'PORT: must be a port number',
        'REDIS_URL: must be a URL starting with redis:// or rediss://',
        'QUOTA_BURST: must be greater than 0',
        'DEFAULT_SINK: must be one of duckdb, postgres, files',
        'SINK_NEW_FIELDS: must be columns or extras',
        'DUCKDB_THREADS: must be greater than 0',
        'DUCKDB_MEMORY_LIMIT: must be at least 80MiB, what one DuckDB load thread needs',
      ]),
    );
    // Not a size at all: said as such, where the minimum's check used to throw past the schema.
    expect(problemsOf({ DUCKDB_MEMORY_LIMIT: 'lots' })).toEqual([
      'DUCKDB_MEMORY_LIMIT: must look like 256MB or 2GB',
    ]);
  });

  it('checks rules that span variables', () => {
    expect(problemsOf({ DEFAULT_SINK: 'postgres' })).toEqual([
      'DATABASE_URL: is required when DEFAULT_SINK=postgres',
    ]);
    expect(problemsOf({ POLL_MIN_DELAY_MS: '10', POLL_MAX_DELAY_MS: '5' })).toEqual([
      'POLL_MIN_DELAY_MS: must not exceed POLL_MAX_DELAY_MS',
    ]);
  });

  it('reads credentials by name and never echoes a key in an error', () => {
    const config = loadConfig({
      FULLSTORY_API_KEY: 'na1.default-key',
      FULLSTORY_CREDENTIALS: 'acme=eu1.acme-key, beta=na1.beta-key',
    });
    expect(config.fullstory.credentials).toEqual({
      default: 'na1.default-key',
      acme: 'eu1.acme-key',
      beta: 'na1.beta-key',
    });
    const problems = problemsOf({ FULLSTORY_CREDENTIALS: 'acme=eu1.secret-key,broken-secret' });
    expect(problems).toEqual([
      'FULLSTORY_CREDENTIALS: entry 2 must look like name=apiKey (name: letters, digits, _ . -)',
    ]);
    expect(problems.join()).not.toContain('secret');
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', LOG_LEVEL: '' }).intake.port).toBe(3000);
  });
});

describe('secretValues', () => {
  it('lists every secret the logger must scrub', () => {
    const config = loadConfig({
      FULLSTORY_CREDENTIALS: 'a=na1.key-a,b=eu1.key-b',
      INTAKE_API_TOKENS: 'token-0123456789abcdef',
      FULLSTORY_WEBHOOK_SECRET: 'whsec-0123456789abcdef',
      CALLBACK_SIGNING_SECRET: 'cbsec-0123456789abcdef',
      DATABASE_URL: 'postgres://fsx:pg-password@db:5432/fsx',
    });
    expect(secretValues(config).sort()).toEqual(
      [
        'cbsec-0123456789abcdef',
        'eu1.key-b',
        'na1.key-a',
        'pg-password',
        'token-0123456789abcdef',
        'whsec-0123456789abcdef',
      ].sort(),
    );
  });
});

describe('loadSimulatorConfig', () => {
  it('accepts the documented default keys', () => {
    const config = loadSimulatorConfig({});
    expect(config.port).toBe(8787);
    expect(config.apiKeys).toEqual({ 'na1.sim-admin': 'admin', 'na1.sim-standard': 'standard' });
  });

  it('rejects a key with an unknown role and a fault rate above 1', () => {
    expect(() => loadSimulatorConfig({ SIM_API_KEYS: 'k:root', SIM_FAULT_503_RATE: '2' })).toThrow(
      /SIM_API_KEYS: entries must look like key:role[\s\S]*SIM_FAULT_503_RATE: must be between 0 and 1/,
    );
  });
});

describe('loadOrExit', () => {
  it('exits non-zero with a readable message in a real process', async () => {
    const script = `import { loadConfig, loadOrExit } from './index.ts'; loadOrExit(() => loadConfig());`;
    const run = promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: import.meta.dirname,
        env: { ...process.env, PORT: 'nope' },
      },
    );
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('PORT: must be a port number'),
    });
  });
});

describe('sizeBytes', () => {
  it('reads sizes as DuckDB does', () => {
    expect(sizeBytes('256MB')).toBe(256e6);
    expect(sizeBytes('1.5 GiB')).toBe(1.5 * 2 ** 30);
    expect(sizeBytes('512kib')).toBe(512 * 1024);
    expect(() => sizeBytes('lots')).toThrow(/not a size/);
  });
});
