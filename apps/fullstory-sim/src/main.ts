import { loadOrExit, loadSimulatorConfig } from '@fsx/config';
import { createLogger } from '@fsx/logger';
import { createSimulator } from './simulator.js';

const config = loadOrExit(() => loadSimulatorConfig());
const logger = createLogger({
  name: 'fullstory-sim',
  level: config.logLevel,
  secrets: Object.keys(config.apiKeys),
});
const sim = createSimulator({
  apiKeys: config.apiKeys,
  quota: config.quota,
  serverQuota: config.serverQuota,
  batchMs: config.batchMs,
  legacyDownloadsPerMinute: config.legacyDownloadsPerMinute,
  operationMs: config.operationSeconds * 1000,
  rowsPerExport: config.rowsPerExport,
  seed: config.seed,
  urlTtlMs: config.urlTtlSeconds * 1000,
  directDownloadUrl: config.directDownloadUrl,
  faultRates: {
    server_error: config.faults.serverErrorRate,
    reset: config.faults.resetRate,
    truncate: config.faults.truncateRate,
    operation_error: config.faults.operationErrorRate,
    slow: config.faults.slowRate,
    early_expiry: config.faults.earlyExpiryRate,
    rate_limited: config.faults.rateLimitedRate,
    batch_item_error: config.faults.batchItemErrorRate,
  },
  slowMs: config.faults.slowMs,
  ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
  ...(config.cacheDir ? { cacheDir: config.cacheDir } : {}),
  logger,
});
const url = await sim.listen({ port: config.port, host: config.host });
logger.info({ url }, `FullStory simulator listening at ${url}`);
process.stdout.write(`fullstory-sim listening at ${url}\n`);

const stop = async (signal: string) => {
  logger.info({ signal }, 'shutting down');
  await sim.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));
