import type { ExportKind } from '@fsx/export-schema';
import type { DuckDbLoadOptions } from './sql.js';

export type FileFormat = 'json' | 'ndjson' | 'csv';

/**
 * Where a field the table has no column for goes: a column of its own (`columns`), or, with
 * `extras`, one JSON `extras` column per row holding every such field as FullStory sent it.
 */
export type NewFields = 'columns' | 'extras';

/** What every sink takes from config besides where it writes. */
export interface SinkOptions extends DuckDbLoadOptions {
  /** Where fields the sink has no column for go. @defaultValue 'columns' */
  newFields?: NewFields;
}

export interface LoadInput {
  /** fsx's export id: a re-run of the same export replaces exactly these rows. */
  exportId: string;
  kind: ExportKind;
  format: FileFormat;
  /** An export file in the staging store: gzipped (`….gz`) or its text (see isGzipped). */
  file: string;
  /**
   * Asked just before the load commits: false (the export was cancelled meanwhile) rolls it back
   * and ends the load with a `sink.abandoned` SinkError.
   */
  stillWanted?: () => Promise<boolean>;
  /**
   * Set by the careful retry, not by callers: an NDJSON file of lines taken out of `file` before
   * it was read (line, reason, raw), which join the load's rejects (see setAsideMalformedLines).
   */
  setAside?: string;
}

export interface LoadResult {
  rows: number;
  /** Rows that could not be read, kept in the sink's quarantine with the reason. */
  rejected: number;
  /** Columns this load added to the table (fields FullStory started sending). */
  newColumns: string[];
  /** Fields this export carried in the `extras` column (only when new fields go there). */
  extraFields: string[];
  /**
   * Why DuckDB's reader refused the file, when the load then went the careful way (line by line,
   * several times slower): a bad row, which the quarantine then holds, or a problem to fix.
   */
  carefulBecause?: string;
  /**
   * Why a one-pass read (see readSampled, Speculation) was thrown away for the plain one, which
   * reads the whole file for its fields first: a field the first rows lacked, or a type DuckDB
   * detected from them that a later row does not fit. Only speed is lost.
   */
  plainBecause?: string;
  /**
   * Why the load ran again with DuckDB on one thread: it ran out of its memory limit on more.
   * DuckDB reads 2,048 rows at a time per thread, and rows of tens of KB outgrow the limit.
   */
  oneThreadBecause?: string;
  /**
   * Why the files sink handed its rows to its file writer 256 at a time instead of 8,192 (and
   * NDJSON files, if that ran out too, a day at a time): it ran out of its memory limit the usual
   * way, as rows tens of KB wide do.
   */
  wideRowsBecause?: string;
  /**
   * Why a JSON array was read again as NDJSON, one element a line: DuckDB ran out of its memory
   * limit on it even on one thread, as an array of rows tens of KB wide did.
   */
  asLinesBecause?: string;
}

/** Where exports land. Every load is all-or-nothing and replaces that export's earlier rows. */
export interface Sink {
  readonly kind: string;
  load(input: LoadInput): Promise<LoadResult>;
  close(): Promise<void>;
}

/**
 * `sink.busy`: another process holds the sink; `sink.abandoned`: the export no longer wanted the
 * load, which rolled back; `sink.out_of_memory`: DuckDB needed more than its memory limit, even
 * on one thread; `sink.load_failed`: the load itself failed.
 */
export type SinkErrorCode =
  | 'sink.busy'
  | 'sink.abandoned'
  | 'sink.out_of_memory'
  | 'sink.load_failed';

export class SinkError extends Error {
  readonly code: SinkErrorCode;
  readonly retryable: boolean;

  constructor(
    code: SinkErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'SinkError';
    this.code = code;
    this.retryable = options.retryable ?? code === 'sink.busy';
  }
}

/** Whether `error` is a SinkError (with `code`, if given), also across copies of this module. */
export function isSinkError(error: unknown, code?: SinkErrorCode): error is SinkError {
  const candidate = error as { name?: unknown; code?: unknown } | null;
  return candidate?.name === 'SinkError' && (code === undefined || candidate.code === code);
}

/**
 * Whether `error` says nothing of the file's contents (the sink was busy, the export stopped
 * wanting the load, or DuckDB ran out of memory): reading the file again line by line, which
 * takes more memory, would not help.
 */
export function isNotAboutTheFile(error: unknown): boolean {
  return (
    isSinkError(error, 'sink.busy') ||
    isSinkError(error, 'sink.abandoned') ||
    isSinkError(error, 'sink.out_of_memory') ||
    isOutOfMemory(error)
  );
}

/** Whether DuckDB refused an allocation past its memory limit. */
export function isOutOfMemory(error: unknown): boolean {
  return /^Out of Memory Error/.test(error instanceof Error ? error.message : String(error));
}

/** Why a load was refused, for a log line: the start of the message (its tail may quote rows). */
export const whyRefused = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).slice(0, 300);

/** Throws `sink.abandoned` when the export no longer wants this load; call it just before COMMIT. */
export async function assertStillWanted(input: LoadInput): Promise<void> {
  if (!input.stillWanted || (await input.stillWanted())) return;
  throw new SinkError(
    'sink.abandoned',
    `the load of export ${input.exportId} rolled back: the export ended while it ran`,
  );
}
