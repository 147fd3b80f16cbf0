import { createHash } from 'node:crypto';

/** A value as it reaches a digest: parsed JSON, CSV text, or a value read back from a database. */
export type RawValue = string | number | bigint | boolean | null | undefined | object;

const MOD = 1n << 128n;

/**
 * A canonical text for one value, the same whichever format or database the row passed through:
 * numbers as their shortest decimal form, timestamps as ISO-8601 with milliseconds, objects as JSON.
 */
export function canonicalValue(value: RawValue): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The canonical text of a row: its non-empty fields, sorted by name. */
export function canonicalRow(row: Readonly<Record<string, RawValue>>): string {
  const parts: string[] = [];
  for (const name of Object.keys(row).sort()) {
    const value = canonicalValue(row[name]);
    if (value !== undefined) parts.push(`${name}=${value}`);
  }
  return parts.join('\u0001');
}

/**
 * An order-independent fingerprint of a multiset of rows: the row count and the sum (mod 2^128) of
 * each row's hash. Unlike XOR, a sum changes when a row is duplicated, so a double load shows.
 */
export class RowDigest {
  count = 0;
  private sum = 0n;

  add(row: Readonly<Record<string, RawValue>>): void {
    this.addCanonical(canonicalRow(row));
  }

  addCanonical(canonical: string): void {
    const hash = createHash('sha256').update(canonical).digest();
    this.sum = (this.sum + hash.readBigUInt64BE(0) * (1n << 64n) + hash.readBigUInt64BE(8)) % MOD;
    this.count += 1;
  }

  get hash(): string {
    return this.sum.toString(16).padStart(32, '0');
  }

  toJSON(): { count: number; hash: string } {
    return { count: this.count, hash: this.hash };
  }
}
