import { ExportFailedError } from '../errors.js';
import type { StageHandler } from '../stage-runner.js';

/** Gets a fresh download location for a finished export. */
export const fetchStage: StageHandler = async (run) => {
  const { searchExportId } = run.record;
  if (!searchExportId) throw new ExportFailedError('fetch: the export has no searchExportId');
  const { location, expires } = await run.callFullStory(({ client }) =>
    client.getExportResults(searchExportId),
  );
  await run.handoff('download', { download: { location, ...(expires ? { expires } : {}) } });
};
