import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_WORKER_CONCURRENCY, threadPoolSizeFor } from '@fsx/config';
import { STAGES, type Stage } from '@fsx/queues';
import { findFreePort, type LocalRedis, startRedisServer } from '@fsx/testing';
import { request } from 'undici';
import { type ChildSpec, ManagedProcess, type Output } from './child.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

export const DEMO_API_KEY = 'na1.sim-admin';

export interface LaunchOptions {
  /** Environment for every process (FULLSTORY_*, QUOTA_*, SIM_*, …). */
  env?: Record<string, string | undefined>;
  /** @defaultValue env.PORT or 3000 */
  port?: number;
  /** @defaultValue env.DATA_DIR or ./data */
  dataDir?: string;
  /** Where process output goes. @defaultValue the terminal, each line prefixed */
  logDir?: string;
  /** Worker processes per stage. @defaultValue 1 each */
  replicas?: Partial<Record<Stage, number>>;
  /**
   * Run the apps' built JavaScript (`pnpm build`, see buildWorkspace) instead of their TypeScript
   * through tsx, as production does. @defaultValue false
   */
  built?: boolean;
}

export interface LaunchedSystem {
  intakeUrl: string;
  redisUrl: string;
  /** Set in demo mode, when fsx runs against its own simulator. */
  simulatorUrl: string | undefined;
  dataDir: string;
  workers: Record<Stage, ManagedProcess[]>;
  intake: ManagedProcess;
  webhookWorker: ManagedProcess;
  sendWorker: ManagedProcess;
  simulator: ManagedProcess | undefined;
  redis: LocalRedis | undefined;
  /** Called when a process exits without being asked to. */
  onUnexpectedExit(handler: (name: string, code: number | null) => void): void;
  stop(): Promise<void>;
}

async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await request(url);
      await response.body.dump();
      if (response.statusCode < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * Starts the whole system as separate processes, the way production runs it: Redis (unless
 * REDIS_URL is given), the simulator (unless FULLSTORY_API_KEY is given: demo mode), the intake
 * and one process per stage. Used by `pnpm start` and the end-to-end tests.
 */
export async function launchSystem(options: LaunchOptions = {}): Promise<LaunchedSystem> {
  const env = Object.fromEntries(
    Object.entries(options.env ?? process.env).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  const dataDir = path.resolve(options.dataDir ?? env.DATA_DIR ?? './data');
  await mkdir(dataDir, { recursive: true });
  if (options.logDir) await mkdir(options.logDir, { recursive: true });
  const output = (name: string): Output =>
    options.logDir
      ? { kind: 'file', path: path.join(options.logDir, `${name}.log`) }
      : { kind: 'inherit', prefix: true };
  const entry = (app: string) =>
    options.built
      ? path.join(ROOT, 'apps', app, 'dist', 'main.js')
      : path.join(ROOT, 'apps', app, 'src', 'main.ts');
  const processes: ManagedProcess[] = [];
  let exitHandler: (name: string, code: number | null) => void = () => {};
  const managed = (spec: ChildSpec) => {
    const child = new ManagedProcess(spec, output(spec.name));
    child.onUnexpectedExit = (code) => exitHandler(spec.name, code);
    processes.push(child);
    return child;
  };

  let redis: LocalRedis | undefined;
  let simulator: ManagedProcess | undefined;
  const stopAll = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await redis?.stop({ keepData: true });
  };

  try {
    if (!env.REDIS_URL) {
      await mkdir(path.join(dataDir, 'redis'), { recursive: true });
      redis = await startRedisServer({ appendOnly: true, dir: path.join(dataDir, 'redis') });
    }
    const redisUrl = env.REDIS_URL ?? (redis as LocalRedis).url;

    let simulatorUrl: string | undefined;
    const fullstoryEnv: Record<string, string> = {};
    if (!env.FULLSTORY_API_KEY && !env.FULLSTORY_CREDENTIALS) {
      const simPort = await findFreePort();
      simulator = managed({
        name: 'fullstory-sim',
        entry: entry('fullstory-sim'),
        env: {
          ...env,
          PORT: String(simPort),
          HOST: '127.0.0.1',
          SIM_OPERATION_SECONDS: env.SIM_OPERATION_SECONDS ?? '10',
        },
        readyPattern: /listening at (http:\S+)/,
      });
      await simulator.start();
      simulatorUrl = `http://127.0.0.1:${simPort}`;
      Object.assign(fullstoryEnv, {
        FULLSTORY_API_KEY: DEMO_API_KEY,
        FULLSTORY_BASE_URL: simulatorUrl,
        // Downloads come from the simulator's own storage path, not FullStory's storage host.
        FULLSTORY_DOWNLOAD_HOSTS: `127.0.0.1:${simPort}`,
        // The simulator's exports take SIM_OPERATION_SECONDS: poll first around then.
        POLL_FIRST_DELAY_MS:
          env.POLL_FIRST_DELAY_MS ?? String(Number(env.SIM_OPERATION_SECONDS ?? 10) * 1000 || 1000),
      });
    }

    const port = options.port ?? Number(env.PORT ?? 3000);
    const common = { ...env, ...fullstoryEnv, REDIS_URL: redisUrl, DATA_DIR: dataDir };
    const intake = managed({
      name: 'intake',
      entry: entry('intake'),
      env: { ...common, PORT: String(port) },
    });
    await intake.start();
    const intakeUrl = `http://${env.HOST ?? '127.0.0.1'}:${port}`;
    await waitForHttp(`${intakeUrl}/health`);

    const workers = Object.fromEntries(STAGES.map((s) => [s, [] as ManagedProcess[]])) as Record<
      Stage,
      ManagedProcess[]
    >;
    const starting: Promise<void>[] = [];
    // Node sizes libuv's pool once, at start: each load's DuckDB query holds one of its threads.
    const ingestThreadPool =
      env.UV_THREADPOOL_SIZE ??
      String(threadPoolSizeFor(Number(env.WORKER_CONCURRENCY) || DEFAULT_WORKER_CONCURRENCY));
    for (const stage of STAGES) {
      for (let i = 0; i < (options.replicas?.[stage] ?? 1); i++) {
        const worker = managed({
          name: `worker-${stage}${i > 0 ? `-${i + 1}` : ''}`,
          entry: entry(`worker-${stage}`),
          env: stage === 'ingest' ? { ...common, UV_THREADPOOL_SIZE: ingestThreadPool } : common,
          readyPattern: new RegExp(`worker-${stage} ready`),
        });
        workers[stage].push(worker);
        starting.push(worker.start());
      }
    }
    // Beside the five stages: FullStory's webhooks, and users and events into the server API.
    const sideWorker = (name: 'worker-webhook' | 'worker-send') => {
      const worker = managed({
        name,
        entry: entry(name),
        env: common,
        readyPattern: new RegExp(`${name} ready`),
      });
      starting.push(worker.start());
      return worker;
    };
    const webhookWorker = sideWorker('worker-webhook');
    const sendWorker = sideWorker('worker-send');
    await Promise.all(starting);

    return {
      intakeUrl,
      redisUrl,
      simulatorUrl,
      dataDir,
      workers,
      intake,
      webhookWorker,
      sendWorker,
      simulator,
      redis,
      onUnexpectedExit(handler) {
        exitHandler = handler;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
