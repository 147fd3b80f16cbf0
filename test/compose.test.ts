import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { envSchema, loadConfig, simulatorEnvSchema } from '@fsx/config';
import { checkLocation } from '@fsx/fullstory';
import { DIST_CONDITION } from '@fsx/launcher';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '..');
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
const fsxVars = new Set(Object.keys(envSchema.shape));
const simVars = new Set(Object.keys(simulatorEnvSchema.in.shape));
const STAGES = ['create', 'poll', 'fetch', 'download', 'ingest'];

describe('docker-compose.yml', () => {
  const services = compose.services as Record<string, any>;

  it('runs Redis durably: AOF, fsync every second, no eviction', () => {
    const command = services.redis.command.join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--appendfsync everysec');
    expect(command).toContain('--maxmemory-policy noeviction');
  });

  it('has the intake and a scalable service per stage, each running its built app', () => {
    for (const name of ['intake', ...STAGES.map((s) => `worker-${s}`), 'fullstory-sim']) {
      const service = services[name];
      expect(service, name).toBeDefined();
      // The image's `pnpm build` writes dist/ from src/; the command runs it without tsx.
      expect(service.command, name).toEqual([
        'node',
        `--conditions=${DIST_CONDITION}`,
        `apps/${name}/dist/main.js`,
      ]);
      expect(existsSync(path.join(ROOT, 'apps', name, 'src', 'main.ts')), name).toBe(true);
    }
    expect(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^RUN pnpm build$/m);
    for (const stage of STAGES)
      expect(services[`worker-${stage}`].deploy.replicas).toBeGreaterThanOrEqual(1);
    expect(services['fullstory-sim'].profiles).toEqual(['demo']);
  });

  it('only sets environment variables the config schemas read', () => {
    for (const [name, service] of Object.entries(services)) {
      if (['redis', 'postgres'].includes(name)) continue;
      const known = name === 'fullstory-sim' ? simVars : fsxVars;
      for (const variable of Object.keys(service.environment ?? {})) {
        expect(known.has(variable), `${name} sets ${variable}, which no schema reads`).toBe(true);
      }
    }
  });

  it('declares every named volume it mounts, and shares the staging volume between download and ingest', () => {
    const declared = new Set(Object.keys(compose.volumes));
    for (const service of Object.values(services)) {
      for (const mount of service.volumes ?? [])
        expect(declared.has(String(mount).split(':')[0] ?? '')).toBe(true);
    }
    expect(services['worker-download'].volumes).toEqual(services['worker-ingest'].volumes);
  });

  it("lets the workers download from the demo's simulator and from FullStory's storage", () => {
    // With compose's defaults, as `docker compose --profile demo up` runs them: every export
    // failed at download when the allow-list refused the simulator's plain-http host.
    const defaults = (environment: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(environment).map(([k, v]) => [
          k,
          String(v).replace(/^\$\{\w+:-(.*)\}$/, '$1'),
        ]),
      );
    const worker = loadConfig(defaults(services['worker-download'].environment));
    const simulator = defaults(services['fullstory-sim'].environment);
    const hosts = worker.fullstory.downloadHosts;
    expect(checkLocation(`${simulator.SIM_PUBLIC_URL}/storage/x.gz`, hosts).host).toBe(
      new URL(worker.fullstory.baseUrl).host,
    );
    expect(checkLocation('https://storage.googleapis.com/fs/x.gz', hosts)).toBeDefined();
    expect(() => checkLocation('http://storage.googleapis.com/fs/x.gz', hosts)).toThrow();
  });

  it('runs the intake beyond loopback only with a token the user must give', () => {
    // Without one the intake refuses to listen on 0.0.0.0: compose names what to set instead.
    const intake = services.intake.environment;
    expect(intake.HOST).toBe('0.0.0.0');
    expect(intake.INTAKE_API_TOKENS).toMatch(/^\$\{INTAKE_API_TOKENS:\?.+\}$/);
  });

  it('gives the long-running services healthchecks', () => {
    for (const name of ['redis', 'postgres', 'intake', 'fullstory-sim'])
      expect(services[name].healthcheck?.test).toBeDefined();
  });
});
