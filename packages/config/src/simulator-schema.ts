import { z } from 'zod';
import { logLevel, port, positiveInt, positiveNumber, rate } from './env-types.js';

export const SIM_ROLES = ['admin', 'architect', 'standard'] as const;
export type SimRole = (typeof SIM_ROLES)[number];

function parseSimKeys(list: string, ctx: z.RefinementCtx): Record<string, SimRole> {
  const keys: Record<string, SimRole> = {};
  for (const entry of list.split(',')) {
    if (!entry.trim()) continue;
    const at = entry.lastIndexOf(':');
    const key = entry.slice(0, at).trim();
    const role = entry.slice(at + 1).trim() as SimRole;
    if (at <= 0 || !SIM_ROLES.includes(role)) {
      ctx.addIssue({
        code: 'custom',
        message: `entries must look like key:role with role one of ${SIM_ROLES.join(', ')}`,
      });
      continue;
    }
    keys[key] = role;
  }
  return keys;
}

const DEFAULT_SIM_KEYS = 'na1.sim-admin:admin,na1.sim-standard:standard';

/** The simulator's environment contract (documented in apps/fullstory-sim/README.md). */
export const simulatorEnvSchema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: port(8787),
    LOG_LEVEL: logLevel,
    SIM_PUBLIC_URL: z.string().optional(),
    /** Where generated export files are kept; set it to reuse them between runs. */
    SIM_CACHE_DIR: z.string().min(1).optional(),
    SIM_API_KEYS: z.string().default(DEFAULT_SIM_KEYS).transform(parseSimKeys),
    SIM_QUOTA_BURST: positiveInt(50),
    SIM_QUOTA_PER_MINUTE: positiveNumber(2),
    SIM_SERVER_QUOTA_BURST: positiveInt(100),
    SIM_SERVER_QUOTA_PER_MINUTE: positiveNumber(1000),
    SIM_BATCH_MS: z.coerce.number().min(0, 'must be 0 or more').default(2000),
    SIM_BATCH_ITEM_MS: z.coerce.number().min(0, 'must be 0 or more').default(0.02),
    SIM_LEGACY_DOWNLOADS_PER_MINUTE: positiveNumber(2),
    SIM_OPERATION_SECONDS: z.coerce.number().min(0, 'must be 0 or more').default(30),
    SIM_ROWS_PER_EXPORT: z.coerce.number().int().min(0, 'must be 0 or more').default(1000),
    SIM_SEED: z.string().min(1).default('fsx'),
    SIM_URL_TTL_SECONDS: positiveNumber(300),
    SIM_DIRECT_DOWNLOAD_URL: z.enum(['true', 'false']).default('false'),
    SIM_FAULT_503_RATE: rate(0),
    SIM_FAULT_RESET_RATE: rate(0),
    SIM_FAULT_TRUNCATE_RATE: rate(0),
    SIM_FAULT_OPERATION_ERROR_RATE: rate(0),
    SIM_FAULT_SLOW_RATE: rate(0),
    SIM_FAULT_SLOW_MS: z.coerce.number().int().min(0).default(2000),
    SIM_FAULT_EARLY_EXPIRY_RATE: rate(0),
    SIM_FAULT_RATE_LIMITED_RATE: rate(0),
    SIM_FAULT_BATCH_ITEM_ERROR_RATE: rate(0),
  })
  .transform((env) => {
    return {
      host: env.HOST,
      port: env.PORT,
      logLevel: env.LOG_LEVEL,
      publicUrl: env.SIM_PUBLIC_URL,
      cacheDir: env.SIM_CACHE_DIR,
      apiKeys: env.SIM_API_KEYS,
      quota: { burst: env.SIM_QUOTA_BURST, perMinute: env.SIM_QUOTA_PER_MINUTE },
      serverQuota: {
        burst: env.SIM_SERVER_QUOTA_BURST,
        perMinute: env.SIM_SERVER_QUOTA_PER_MINUTE,
      },
      batchMs: { base: env.SIM_BATCH_MS, perItem: env.SIM_BATCH_ITEM_MS },
      legacyDownloadsPerMinute: env.SIM_LEGACY_DOWNLOADS_PER_MINUTE,
      operationSeconds: env.SIM_OPERATION_SECONDS,
      rowsPerExport: env.SIM_ROWS_PER_EXPORT,
      seed: env.SIM_SEED,
      urlTtlSeconds: env.SIM_URL_TTL_SECONDS,
      directDownloadUrl: env.SIM_DIRECT_DOWNLOAD_URL === 'true',
      faults: {
        serverErrorRate: env.SIM_FAULT_503_RATE,
        resetRate: env.SIM_FAULT_RESET_RATE,
        truncateRate: env.SIM_FAULT_TRUNCATE_RATE,
        operationErrorRate: env.SIM_FAULT_OPERATION_ERROR_RATE,
        slowRate: env.SIM_FAULT_SLOW_RATE,
        slowMs: env.SIM_FAULT_SLOW_MS,
        earlyExpiryRate: env.SIM_FAULT_EARLY_EXPIRY_RATE,
        rateLimitedRate: env.SIM_FAULT_RATE_LIMITED_RATE,
        batchItemErrorRate: env.SIM_FAULT_BATCH_ITEM_ERROR_RATE,
      },
    };
  });

export type SimulatorEnvConfig = z.output<typeof simulatorEnvSchema>;
