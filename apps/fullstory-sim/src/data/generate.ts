import { eventRows } from './events.js';
import { individualRows } from './individuals.js';
import type { RowSource, TimeWindow } from './row.js';

export type SimExportType = 'events' | 'individuals';

/**
 * The rows of one export. Seeded by the request, not by the operation: the same export asked for
 * twice (say, re-created after an ERROR) has exactly the same rows, as it would in FullStory.
 */
export function exportRows(
  seed: string,
  type: SimExportType,
  segmentId: string,
  window: TimeWindow,
  count: number,
): RowSource {
  const requestSeed = `${seed}|${type}|${segmentId}|${window.startMs}|${window.endMs}`;
  return type === 'events'
    ? eventRows(requestSeed, window, count)
    : individualRows(requestSeed, window, count);
}
