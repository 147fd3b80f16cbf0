/** One generated export record. int64 ids are bigints so they keep every digit past 2^53. */
export type SimValue = string | number | bigint | boolean | Record<string, unknown>;
export type SimRow = Record<string, SimValue>;

export interface TimeWindow {
  startMs: number;
  /** Exclusive, as FullStory's time ranges are. */
  endMs: number;
}

export interface RowSource {
  /** CSV header: every field a row of this kind may carry, in a stable order. */
  columns: readonly string[];
  /** Row `index` of the export; the same arguments always give the same row. */
  row(index: number): SimRow;
}
