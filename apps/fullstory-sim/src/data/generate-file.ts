import type { SimFormat } from './encode.js';
import { type ExportFileInfo, writeExportFile } from './export-file.js';
import { exportRows, type SimExportType } from './generate.js';

export interface GenerateFileOptions {
  path: string;
  type: SimExportType;
  format: SimFormat;
  rows: number;
  /** @defaultValue 'fsx' */
  seed?: string;
  /** @defaultValue 'everyone' */
  segmentId?: string;
  /** @defaultValue 2026-11-01 to 2026-11-02 */
  window?: { startMs: number; endMs: number };
}

/**
 * Writes the exact file the simulator would serve for such an export, without a server: for sink
 * tests and the ingest benchmark. Returns the rows' count and content hash.
 */
export function generateExportFile(options: GenerateFileOptions): Promise<ExportFileInfo> {
  const window = options.window ?? { startMs: Date.parse('2026-11-01T00:00:00Z'), endMs: Date.parse('2026-11-02T00:00:00Z') };
  const source = exportRows(options.seed ?? 'fsx', options.type, options.segmentId ?? 'everyone', window, options.rows);
  return writeExportFile(options.path, source, options.rows, options.format);
}
