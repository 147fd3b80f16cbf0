// Sizes of DuckDB memory settings, shared by the config that checks them and the sinks that use them.

const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Bytes in a DuckDB size setting (`256MB` is 256·10⁶ bytes, `1GiB` 2³⁰, as DuckDB reads them). */
export function sizeBytes(size: string): number {
  const [, amount, unit] = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(size) ?? [];
  const scale = UNIT_BYTES[unit?.toLowerCase() ?? ''];
  if (amount === undefined || scale === undefined) throw new Error(`not a size: ${size}`);
  return Number(amount) * scale;
}

/**
 * What one DuckDB thread of a load needs within the memory limit: each JSON reader thread holds
 * 32 MiB buffers besides its share of the table being written. At the default 256MB (244 MiB),
 * NDJSON loaded on three threads; on four, and so on a 4-core machine with one per core, its
 * reads ran out of memory and every NDJSON export fell to the slow careful path.
 */
export const MIB_PER_LOAD_THREAD = 80;
