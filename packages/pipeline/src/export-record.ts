import { STAGES, type Stage } from '@fsx/queues';
import { z } from 'zod';

export const EXPORT_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type ExportState = (typeof EXPORT_STATES)[number];
/** Where an export can be: a pipeline stage, or waiting for its windows as a backfill's parent. */
export const EXPORT_STAGES = [...STAGES, 'backfill'] as const;
export type ExportStage = Stage | 'backfill';
export const TERMINAL_STATES: readonly ExportState[] = ['completed', 'failed', 'cancelled'];

const timeRangeSchema = z.object({ start: z.string().optional(), end: z.string().optional() });

export const exportSpecSchema = z.object({
  segmentId: z.string().min(1),
  type: z.enum(['events', 'individuals']),
  format: z.enum(['json', 'ndjson', 'csv']),
  timeRange: timeRangeSchema.optional(),
  segmentTimeRange: timeRangeSchema.optional(),
});
export type ExportSpec = z.infer<typeof exportSpecSchema>;

/** Everything fsx knows about one export. Lives in Redis; every stage reads and updates it. */
export interface ExportRecord {
  id: string;
  state: ExportState;
  /** The stage the export is in (`backfill` for a backfill's parent); absent (null in the API) once it ended. */
  stage?: ExportStage | null;
  /** Hand-offs so far; the current stage job carries the same number. */
  step: number;
  spec: ExportSpec;
  /** Name of the credential in config; never the key itself. */
  credential: string;
  sink: string;
  /** FullStory's estimatePctComplete while the operation runs; 100 when done. */
  progress: number;
  operationId?: string;
  operationStartedAt?: string;
  searchExportId?: string;
  rows?: number;
  /** Rows the sink could not read; kept in its quarantine with the reason. */
  rowsRejected?: number;
  warning?: string;
  newColumns?: string[];
  /** Fields the sink kept in its JSON `extras` column (SINK_NEW_FIELDS=extras). */
  extraFields?: string[];
  bytes?: number;
  polls: number;
  recreates: number;
  downloadRestarts: number;
  lastError?: string;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Short-lived signed URL: a capability, kept out of API responses and job data. */
  download?: { location: string; expires?: string };
  stagedFile?: string;
  /** Set for a legacy Data Export bundle: fetched with `export/get`, no operation to wait for. */
  bundleId?: string;
  /** A backfill's child exports, one per window. */
  children?: string[];
  /** The backfill this export is one window of. */
  parentId?: string;
  /** Where the final record is POSTed (signed) once the export ends. */
  callbackUrl?: string;
}

/**
 * What the HTTP API shows: the record in a stable field order (Redis' cjson does not keep one),
 * without the signed URL or file paths.
 */
export function publicView(record: ExportRecord) {
  return {
    id: record.id,
    state: record.state,
    stage: record.stage ?? null,
    progress: record.progress,
    rows: record.rows ?? null,
    rowsRejected: record.rowsRejected ?? 0,
    warning: record.warning ?? null,
    spec: record.spec,
    credential: record.credential,
    sink: record.sink,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    finishedAt: record.finishedAt ?? null,
    lastError: record.lastError ?? null,
    fullstory: {
      operationId: record.operationId ?? null,
      searchExportId: record.searchExportId ?? null,
      polls: record.polls,
      recreates: record.recreates,
      downloadRestarts: record.downloadRestarts,
    },
    bytes: record.bytes ?? null,
    newColumns: record.newColumns ?? [],
    extraFields: record.extraFields ?? [],
    step: record.step,
    callbackUrl: record.callbackUrl ?? null,
  };
}
