import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { SimContext } from './context.js';
import { FaultPlan, type FaultScope } from './faults.js';
import { registerGuard } from './guard.js';
import { type FaultKind, resolveOptions, type SimulatorOptions } from './options.js';
import { createExportRoute } from './routes/create-export.js';
import { legacyRoutes } from './routes/legacy.js';
import { operationRoutes } from './routes/operations.js';
import { segmentRoutes } from './routes/segments.js';
import { serverApiRoutes } from './routes/server-api.js';
import { simAdminRoutes } from './routes/sim-admin.js';
import { storageRoutes } from './routes/storage.js';
import { webhookRoutes } from './routes/webhooks.js';
import { ServerApi } from './server-api/server-api.js';
import { SimState } from './state.js';
import { SimStats } from './stats.js';
import { TokenBuckets } from './token-bucket.js';

export interface Simulator {
  app: FastifyInstance;
  stats: SimStats;
  /** Makes the next `times` eligible requests fail with `kind`. */
  injectFault(kind: FaultKind, times?: number, scope?: FaultScope): void;
  /** Starts listening; resolves to the base URL. */
  listen(options?: { port?: number; host?: string }): Promise<string>;
  /** The base URL, once listening. */
  readonly url: string;
  close(): Promise<void>;
}

/** A FullStory API simulator: usable in-process (tests, benchmarks) or standalone (main.ts). */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const resolved = resolveOptions(options);
  const stats = new SimStats();
  let baseUrl = options.publicUrl ?? '';
  const faults = new FaultPlan(resolved.faultRates, stats, resolved.seed);
  const ctx: SimContext = {
    options: resolved,
    stats,
    state: new SimState(resolved, options.cacheDir),
    faults,
    quota: new TokenBuckets(resolved.quota.burst, resolved.quota.perMinute),
    serverQuota: new TokenBuckets(resolved.serverQuota.burst, resolved.serverQuota.perMinute),
    server: new ServerApi({
      durationMs: (n) => resolved.batchMs.base + resolved.batchMs.perItem * n,
      itemFails: () => faults.decide('batch_item_error', undefined, 'server'),
    }),
    legacyDownloads: new TokenBuckets(
      resolved.legacyDownloadsPerMinute,
      resolved.legacyDownloadsPerMinute,
    ),
    publicUrl: () => baseUrl,
  };
  const app: FastifyInstance = Fastify({
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : {}),
    // Per-request lines would drown the simulator's own log; /__sim/stats counts requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  });
  registerGuard(app, ctx);
  segmentRoutes(app, ctx);
  createExportRoute(app, ctx);
  operationRoutes(app, ctx);
  storageRoutes(app, ctx);
  legacyRoutes(app, ctx);
  webhookRoutes(app, ctx);
  serverApiRoutes(app, ctx);
  simAdminRoutes(app, ctx);

  return {
    app,
    stats,
    injectFault: (kind, times, scope) => ctx.faults.inject(kind, times, scope),
    async listen({ port = 0, host = '127.0.0.1' } = {}) {
      await app.listen({ port, host });
      const address = app.server.address() as AddressInfo;
      const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
      baseUrl ||= `http://${shownHost}:${address.port}`;
      return baseUrl;
    },
    get url() {
      return baseUrl;
    },
    close: () => app.close(),
  };
}
