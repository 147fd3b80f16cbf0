import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SimFormat } from './data/encode.js';
import { type ExportFileInfo, writeExportFile } from './data/export-file.js';
import { exportRows, type SimExportType } from './data/generate.js';
import type { TimeWindow } from './data/row.js';
import type { ResolvedOptions } from './options.js';

export interface ExportRequest {
  segmentId: string;
  segmentName: string;
  type: SimExportType;
  format: SimFormat;
  window: TimeWindow;
  rows: number;
}

export interface SimOperation {
  id: string;
  searchExportId: string;
  createdAtMs: number;
  durationMs: number;
  /** Decided at creation: this operation ends in ERROR/FAILED half-way through. */
  fails: boolean;
  request: ExportRequest;
  apiKey: string;
}

/** Operations, exports and their generated files. One simulator, one in-memory store. */
export class SimState {
  readonly operations = new Map<string, SimOperation>();
  readonly exportsById = new Map<string, SimOperation>();
  private readonly files = new Map<string, Promise<ExportFileInfo>>();
  private readonly signingKey = randomBytes(32);
  private cacheDir: string | undefined;
  private counter = 0;

  constructor(
    private readonly options: ResolvedOptions,
    cacheDir?: string,
  ) {
    this.cacheDir = cacheDir;
  }

  nextIndex(): number {
    this.counter += 1;
    return this.counter;
  }

  addOperation(operation: SimOperation): void {
    this.operations.set(operation.id, operation);
    this.exportsById.set(operation.searchExportId, operation);
  }

  /**
   * The gzipped file of an export, generated on first use and kept. Files are named by what they
   * hold (seed, request, rows), so exports of the same data share one file, and a cache directory
   * kept between runs (SIM_CACHE_DIR) spares generating it again.
   */
  exportFile(operation: SimOperation): Promise<ExportFileInfo> {
    const { request } = operation;
    const key = createHash('sha256')
      .update(
        JSON.stringify([
          this.options.seed,
          request.type,
          request.segmentId,
          request.window.startMs,
          request.window.endMs,
          request.rows,
          request.format,
        ]),
      )
      .digest('hex')
      .slice(0, 24);
    let file = this.files.get(key);
    if (!file) {
      file = this.generate(operation, key);
      file.catch(() => this.files.delete(key));
      this.files.set(key, file);
    }
    return file;
  }

  private async generate(operation: SimOperation, key: string): Promise<ExportFileInfo> {
    this.cacheDir ??= await mkdtemp(path.join(os.tmpdir(), 'fsx-sim-'));
    const { request } = operation;
    const file = path.join(this.cacheDir, `${key}.${request.format}.gz`);
    const sidecar = `${file}.json`;
    const cached = await readFile(sidecar, 'utf8').then(
      (text) => JSON.parse(text) as ExportFileInfo,
      () => undefined,
    );
    if (cached) return { ...cached, path: file };
    const source = exportRows(
      this.options.seed,
      request.type,
      request.segmentId,
      request.window,
      request.rows,
    );
    const info = await writeExportFile(file, source, request.rows, request.format);
    // Written after the file is in place: a sidecar always describes a whole file.
    await writeFile(sidecar, JSON.stringify(info));
    return info;
  }

  sign(resource: string, expiresAtMs: number): string {
    return createHmac('sha256', this.signingKey)
      .update(`${resource}\n${expiresAtMs}`)
      .digest('hex');
  }

  verify(resource: string, expiresAtMs: number, signature: string): boolean {
    return this.sign(resource, expiresAtMs) === signature;
  }
}

/** Where an operation is at `nowMs`: PENDING, then RUNNING, then COMPLETED or the failed state. */
export function operationView(operation: SimOperation, nowMs: number, options: ResolvedOptions) {
  const elapsed = nowMs - operation.createdAtMs;
  const failAt = operation.durationMs / 2;
  const base = {
    id: operation.id,
    type: 'SEARCH_EXPORT',
    details: null,
    createdAt: new Date(operation.createdAtMs).toISOString(),
    step: '',
  };
  if (operation.fails && elapsed >= failAt) {
    return {
      ...base,
      state: options.failedState,
      results: null,
      errorDetails: 'export failed: internal error while aggregating segment data',
      finishedAt: new Date(operation.createdAtMs + failAt).toISOString(),
      estimatePctComplete: Math.floor((100 * failAt) / Math.max(1, operation.durationMs)),
    };
  }
  if (elapsed < operation.durationMs) {
    const pct = Math.min(99, Math.floor((100 * elapsed) / Math.max(1, operation.durationMs)));
    const running = options.runningState && elapsed >= operation.durationMs * 0.1;
    return {
      ...base,
      state: running ? 'RUNNING' : 'PENDING',
      results: null,
      errorDetails: '',
      finishedAt: null,
      estimatePctComplete: pct,
    };
  }
  const finishedAtMs = operation.createdAtMs + operation.durationMs;
  return {
    ...base,
    state: 'COMPLETED',
    errorDetails: '',
    finishedAt: new Date(finishedAtMs).toISOString(),
    estimatePctComplete: 100,
    // The search export itself lives for days; each download URL only minutes.
    results: {
      expires: new Date(finishedAtMs + 7 * 86_400_000).toISOString(),
      searchExportId: operation.searchExportId,
    },
  };
}
