import type { FaultPlan } from './faults.js';
import type { ResolvedOptions } from './options.js';
import type { ServerApi } from './server-api/server-api.js';
import type { SimState } from './state.js';
import type { SimStats } from './stats.js';
import type { TokenBuckets } from './token-bucket.js';

/** What every route of the simulator shares. */
export interface SimContext {
  options: ResolvedOptions;
  state: SimState;
  stats: SimStats;
  faults: FaultPlan;
  quota: TokenBuckets;
  /** The v2 server API's own quota (1000 requests a minute by default). */
  serverQuota: TokenBuckets;
  server: ServerApi;
  legacyDownloads: TokenBuckets;
  /** The base URL download locations point at. */
  publicUrl(): string;
}

/**
 * How a route is guarded: FullStory's export APIs (auth, admin key, quota), the v2 server API (auth,
 * its own quota), or storage (signed URL, no auth).
 */
export type Guard = 'api' | 'server' | 'storage' | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    guard?: Guard;
  }
  interface FastifyRequest {
    apiKey?: string;
  }
}
