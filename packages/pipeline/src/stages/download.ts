import { isFullStoryError, TransientError } from '@fsx/fullstory';
import type { PipelineDeps } from '../context.js';
import { ExportFailedError } from '../errors.js';
import type { StageHandler } from '../stage-runner.js';
import { GzipBombError, verifyGzip } from '../staging.js';

/**
 * Streams the file into the staging store, resuming a partial file a killed run left behind.
 * An expired URL goes back to fetch for a fresh one; a corrupt gzip is downloaded again.
 */
export const downloadStage: StageHandler = async (run) => {
  const { record, deps } = run;
  const maxRestarts = deps.settings.maxDownloadRestarts ?? 5;
  const backToFetch = async (reason: string) => {
    if (record.downloadRestarts >= maxRestarts || !record.searchExportId) {
      throw new ExportFailedError(`download: ${reason}, and no fresh location can be had`);
    }
    await run.handoff('fetch', {
      download: null,
      downloadRestarts: record.downloadRestarts + 1,
      lastError: reason,
    });
  };
  await deps.staging.prepare();
  const file = deps.staging.pathFor(record.id, record.spec.format);
  if (record.bundleId) {
    const bundleId = record.bundleId;
    // A legacy bundle: one authenticated call (a quota token), nothing to poll or fetch.
    const result = await run.callFullStory(({ client }) =>
      client.downloadBundle(bundleId, file, { resume: true }),
    );
    await verifyDownload(file, deps);
    await run.handoff('ingest', { stagedFile: file, bytes: result.bytes });
    return;
  }
  if (!record.download) return backToFetch('no download location');
  if (record.download.expires && Date.parse(record.download.expires) <= Date.now()) {
    return backToFetch('the download location expired before it was used');
  }

  const { client } = deps.fullstory(record.credential);
  try {
    const result = await client.downloadExport(record.download.location, file, {
      resume: true,
      ...(deps.downloads ? { maxBytes: deps.downloads.maxBytes } : {}),
    });
    await verifyDownload(file, deps);
    await run.handoff('ingest', { stagedFile: file, bytes: result.bytes });
  } catch (error) {
    if (isFullStoryError(error, 'fullstory.download_expired')) {
      await deps.staging.remove(file);
      return backToFetch(error.message);
    }
    throw error;
  }
};

/** A whole gzip within the size cap, or the file is removed (a bomb fails the export; a cut file is retried). */
async function verifyDownload(file: string, deps: PipelineDeps): Promise<void> {
  await verifyGzip(file, deps.downloads?.maxDecompressedBytes).catch(async (error: unknown) => {
    await deps.staging.remove(file);
    if (error instanceof GzipBombError)
      throw new ExportFailedError(`download: ${error.message}`, { cause: error });
    throw new TransientError(`download: the file is not a whole gzip (${String(error)})`, {
      cause: error,
    });
  });
}
