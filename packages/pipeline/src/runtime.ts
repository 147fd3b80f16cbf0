import type { FsxConfig, SinkKind } from '@fsx/config';
import { createDispatcher, FullStoryClient } from '@fsx/fullstory';
import type { Logger } from '@fsx/logger';
import { closeQueues, createRedis, createStageQueues } from '@fsx/queues';
import { RateLimiter } from '@fsx/rate-limit';
import { DuckDbSink, FilesSink, PostgresSink, type Sink } from '@fsx/sinks';
import { createCallbackQueue } from './callbacks.js';
import type { FullStoryAccess, PipelineDeps } from './context.js';
import { ExportFailedError, UnknownCredentialError } from './errors.js';
import { ExportStore } from './export-store.js';
import { PipelineMetrics } from './metrics.js';
import { OperationDurations } from './operation-durations.js';
import { StagingStore } from './staging.js';

export interface PipelineRuntime {
  deps: PipelineDeps;
  /** The blocking connection workers use (maxRetriesPerRequest: null). */
  workerConnection: ReturnType<typeof createRedis>;
  close(): Promise<void>;
}

/** The sinks this configuration can load into. */
export function availableSinks(config: FsxConfig): SinkKind[] {
  return ['duckdb', 'files', ...(config.sinks.postgresUrl ? (['postgres'] as const) : [])];
}

function createSink(name: string, config: FsxConfig): Sink {
  const shared = {
    memoryLimit: config.sinks.duckdbMemoryLimit,
    ...(config.sinks.duckdbThreads ? { threads: config.sinks.duckdbThreads } : {}),
    newFields: config.sinks.newFields,
    tempDir: config.storage.tempDir,
  };
  if (name === 'duckdb')
    return new DuckDbSink({
      path: config.sinks.duckdbPath,
      lockWaitMs: config.sinks.duckdbLockWaitMs,
      ...shared,
    });
  if (name === 'files')
    return new FilesSink({
      dir: config.sinks.filesDir,
      format: config.sinks.filesFormat,
      ...shared,
    });
  if (name === 'postgres' && config.sinks.postgresUrl)
    return new PostgresSink({
      connectionString: config.sinks.postgresUrl,
      lockTimeoutMs: config.sinks.postgresLockTimeoutMs,
      ...shared,
    });
  throw new ExportFailedError(`sink "${name}" is not configured here`);
}

/** Builds everything the stages need from validated config. Used by the worker apps and tests. */
export function createPipelineRuntime(config: FsxConfig, logger: Logger): PipelineRuntime {
  const redis = createRedis(config.redis.url, 'worker');
  const workerConnection = createRedis(config.redis.url, 'worker');
  const queues = createStageQueues(redis, config.redis.prefix);
  const callbacks = createCallbackQueue(redis, config.redis.prefix);
  const dispatcher = createDispatcher();
  const clients = new Map<string, FullStoryAccess>();
  const sinks = new Map<string, Sink>();

  const deps: PipelineDeps = {
    store: new ExportStore(redis, config.redis.prefix),
    queues,
    limiter: new RateLimiter({ redis, prefix: config.redis.prefix, quota: config.fullstory.quota }),
    fullstory(credential) {
      const apiKey = config.fullstory.credentials[credential];
      if (!apiKey) throw new UnknownCredentialError(credential);
      let access = clients.get(credential);
      if (!access) {
        access = {
          apiKey,
          client: new FullStoryClient({
            baseUrl: config.fullstory.baseUrl,
            apiKey,
            dispatcher,
            timeoutMs: config.fullstory.requestTimeoutMs,
            downloadHosts: config.fullstory.downloadHosts,
          }),
        };
        clients.set(credential, access);
      }
      return access;
    },
    sink(name) {
      let sink = sinks.get(name);
      if (!sink) {
        sink = createSink(name, config);
        sinks.set(name, sink);
      }
      return sink;
    },
    staging: new StagingStore(config.storage.stagingDir),
    metrics: new PipelineMetrics(redis, config.redis.prefix),
    durations: new OperationDurations(redis, config.redis.prefix),
    // The job id is the export's: a stage that ends an export twice sends one callback.
    onFinished: async (exportId) => {
      await callbacks.add('callback', { exportId }, { jobId: `cb.${exportId}` });
    },
    logger,
    settings: config.pipeline,
    downloads: config.downloads,
  };

  return {
    deps,
    workerConnection,
    async close() {
      await closeQueues(queues);
      await callbacks.close();
      await Promise.all([...sinks.values()].map((s) => s.close()));
      await dispatcher.close();
      redis.disconnect();
      workerConnection.disconnect();
    },
  };
}
