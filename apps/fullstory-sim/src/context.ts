import type { FaultPlan } from './faults.js';
import type { ResolvedOptions } from './options.js';
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
  legacyDownloads: TokenBuckets;
  /** The base URL download locations point at. */
  publicUrl(): string;
}

/** How a route is guarded: FullStory's API (auth + quota), or storage (signed URL, no auth). */
export type Guard = 'api' | 'storage' | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    guard?: Guard;
  }
  interface FastifyRequest {
    apiKey?: string;
  }
}
