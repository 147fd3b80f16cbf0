import type { SimRole } from '@fsx/config';
import type { Logger } from '@fsx/logger';

export const FAULT_KINDS = [
  'server_error',
  'reset',
  'truncate',
  'operation_error',
  'slow',
  'early_expiry',
  /** A 429 with Retry-After before the quota is spent (another tool sharing the key). */
  'rate_limited',
  /** One request of a batch import fails with a retryable server_error. */
  'batch_item_error',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface SimSegment {
  id: string;
  name: string;
  creator: string;
  /** Absent for built-in segments. */
  created?: string;
}

export interface SimulatorOptions {
  /** Accepted keys and their roles. @defaultValue na1.sim-admin (admin), na1.sim-standard (standard) */
  apiKeys?: Record<string, SimRole>;
  /** Token bucket per API key. @defaultValue burst 50, 2 per minute (FullStory's documented quota) */
  quota?: { burst: number; perMinute: number };
  /** The v2 server API's own quota per key. @defaultValue burst 100, 1000 per minute */
  serverQuota?: { burst: number; perMinute: number };
  /** How long a batch import takes: `base + perItem × requests`. @defaultValue 2000 ms + 0.02 ms */
  batchMs?: { base: number; perItem: number };
  /** The legacy `export/get` limit. @defaultValue 2 per minute */
  legacyDownloadsPerMinute?: number;
  /** How long an export operation takes; a function draws one per export. @defaultValue 30 s */
  operationMs?: number | ((exportIndex: number) => number);
  /** @defaultValue 1000 */
  rowsPerExport?: number;
  /** @defaultValue 'fsx' */
  seed?: string;
  /** How long a download location stays valid. @defaultValue 5 minutes */
  urlTtlMs?: number;
  /** Completed operations carry `results.downloadUrl` (the OpenAPI shape). @defaultValue false */
  directDownloadUrl?: boolean;
  /** The state name of a failed operation. @defaultValue 'ERROR' (workflow guide; OpenAPI says FAILED) */
  failedState?: 'ERROR' | 'FAILED';
  /** Report RUNNING between PENDING and COMPLETED (only the OpenAPI file has it). @defaultValue true */
  runningState?: boolean;
  /** `nextPaginationToken` (reference) or `pagination_token` (OpenAPI). @defaultValue 'reference' */
  paginationStyle?: 'reference' | 'openapi';
  /** Probability of each fault per eligible request. @defaultValue all 0 */
  faultRates?: Partial<Record<FaultKind, number>>;
  /** How long a `slow` fault delays a response. @defaultValue 2000 */
  slowMs?: number;
  /** Segments besides the built-in `everyone`. @defaultValue 44 generated segments */
  segments?: SimSegment[];
  /** Legacy Data Export bundles: one every `minutes` from `origin` until now. */
  bundles?: { origin?: string; minutes?: number; rows?: number };
  /** The URL clients reach the simulator at (used in download locations). @defaultValue the listen address */
  publicUrl?: string;
  /** Where generated export files are kept. @defaultValue a temporary directory */
  cacheDir?: string;
  logger?: Logger;
}

export interface ResolvedOptions {
  apiKeys: Record<string, SimRole>;
  quota: { burst: number; perMinute: number };
  serverQuota: { burst: number; perMinute: number };
  batchMs: { base: number; perItem: number };
  legacyDownloadsPerMinute: number;
  operationMs: (exportIndex: number) => number;
  rowsPerExport: number;
  seed: string;
  urlTtlMs: number;
  directDownloadUrl: boolean;
  failedState: 'ERROR' | 'FAILED';
  runningState: boolean;
  paginationStyle: 'reference' | 'openapi';
  faultRates: Record<FaultKind, number>;
  slowMs: number;
  segments: SimSegment[];
  bundles: { originMs: number; minutes: number; rows: number };
}

function generatedSegments(): SimSegment[] {
  return Array.from({ length: 44 }, (_, i) => ({
    id: `seg${String(i + 1).padStart(3, '0')}Xq9`,
    name: i === 0 ? 'Rage clickers' : `Segment ${i + 1}`,
    creator: `analyst${i % 3}@example.com`,
    created: new Date(Date.UTC(2025, 0, 1 + i)).toISOString(),
  }));
}

export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  const operationMs = options.operationMs ?? 30_000;
  return {
    apiKeys: options.apiKeys ?? { 'na1.sim-admin': 'admin', 'na1.sim-standard': 'standard' },
    quota: options.quota ?? { burst: 50, perMinute: 2 },
    serverQuota: options.serverQuota ?? { burst: 100, perMinute: 1000 },
    batchMs: options.batchMs ?? { base: 2_000, perItem: 0.02 },
    legacyDownloadsPerMinute: options.legacyDownloadsPerMinute ?? 2,
    operationMs: typeof operationMs === 'number' ? () => operationMs : operationMs,
    rowsPerExport: options.rowsPerExport ?? 1000,
    seed: options.seed ?? 'fsx',
    urlTtlMs: options.urlTtlMs ?? 5 * 60_000,
    directDownloadUrl: options.directDownloadUrl ?? false,
    failedState: options.failedState ?? 'ERROR',
    runningState: options.runningState ?? true,
    paginationStyle: options.paginationStyle ?? 'reference',
    faultRates: Object.fromEntries(
      FAULT_KINDS.map((kind) => [kind, options.faultRates?.[kind] ?? 0]),
    ) as Record<FaultKind, number>,
    slowMs: options.slowMs ?? 2_000,
    segments: options.segments ?? generatedSegments(),
    bundles: {
      originMs: Date.parse(options.bundles?.origin ?? '2026-11-01T00:00:00Z'),
      minutes: options.bundles?.minutes ?? 30,
      rows: options.bundles?.rows ?? 100,
    },
  };
}
