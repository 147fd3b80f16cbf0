export { DuckDbSink, type DuckDbSinkOptions } from './duckdb-sink.js';
export type { EventRecord, EventStore } from './event-tables.js';
export { createExportGunzip } from './export-text.js';
export { type FilesFormat, FilesSink, type FilesSinkOptions } from './files-sink.js';
export { PostgresSink, type PostgresSinkOptions } from './postgres-sink.js';
export { SPILL_IDLE_MS, sweepAbandonedSpills } from './scratch-duckdb.js';
export {
  type FileFormat,
  isSinkError,
  type LoadInput,
  type LoadResult,
  type NewFields,
  type Sink,
  SinkError,
  type SinkOptions,
} from './sink.js';
