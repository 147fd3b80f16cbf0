import { isFullStoryError, TransientError } from '@fsx/fullstory';
import type { PipelineDeps } from '../context.js';
import { ExportFailedError } from '../errors.js';
import type { StageHandler } from '../stage-runner.js';
import { GzipBombError, inflateGzip, verifyGzip } from '../staging.js';

/**
 * Streams the file into the staging store, resuming a partial file a killed run left behind, and
 * stages its text for ingest (unless configured to stage the gzip). The gzip stays beside the
 * text until ingest removes both, so a second run of this stage resumes a whole file instead of
 * downloading it again. An expired URL goes back to fetch for a fresh one; a corrupt gzip is
 * downloaded again.
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
    const staged = await stageDownload(file, deps, record.id, record.spec.format);
    await run.handoff('ingest', { stagedFile: staged, bytes: result.bytes });
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
    const staged = await stageDownload(file, deps, record.id, record.spec.format);
    await run.handoff('ingest', { stagedFile: staged, bytes: result.bytes });
  } catch (error) {
    if (isFullStoryError(error, 'fullstory.download_expired')) {
      await deps.staging.remove(file);
      return backToFetch(error.message);
    }
    throw error;
  }
};

/**
 * Checks the downloaded gzip is whole and within the size cap, staging its text as it goes, and
 * returns the file ingest loads. A bomb fails the export; a cut file is removed and retried.
 */
async function stageDownload(
  file: string,
  deps: PipelineDeps,
  exportId: string,
  format: string,
): Promise<string> {
  const maxBytes = deps.downloads?.maxDecompressedBytes;
  const text =
    deps.downloads?.stageText === false ? undefined : deps.staging.textPathFor(exportId, format);
  try {
    if (text) await inflateGzip(file, text, maxBytes);
    else await verifyGzip(file, maxBytes);
    return text ?? file;
  } catch (error) {
    await deps.staging.remove(text ?? file); // The text's name is the gzip's prefix.
    if (error instanceof GzipBombError)
      throw new ExportFailedError(`download: ${error.message}`, { cause: error });
    throw new TransientError(`download: the file is not a whole gzip (${String(error)})`, {
      cause: error,
    });
  }
}
