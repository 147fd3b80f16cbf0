export type { SimContext } from './context.js';
export type { ExportFileInfo } from './data/export-file.js';
export { type GenerateFileOptions, generateExportFile } from './data/generate-file.js';
export { FAULT_KINDS, type FaultKind, type SimSegment, type SimulatorOptions } from './options.js';
export { createSimulator, type Simulator } from './simulator.js';
export type { ExportStats, SimStats } from './stats.js';
