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
