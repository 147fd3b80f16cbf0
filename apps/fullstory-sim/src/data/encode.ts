import type { SimRow, SimValue } from './row.js';

export type SimFormat = 'json' | 'ndjson' | 'csv';

function jsonValue(value: SimValue): string {
  // bigint ids are written as bare JSON numbers with every digit, as FullStory writes them.
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

export function jsonRecord(row: SimRow): string {
  let out = '{';
  let first = true;
  for (const name in row) {
    out += `${first ? '' : ','}${JSON.stringify(name)}:${jsonValue(row[name] as SimValue)}`;
    first = false;
  }
  return `${out}}`;
}

function csvCell(value: SimValue | undefined): string {
  if (value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRecord(columns: readonly string[], row: SimRow): string {
  return columns.map((column) => csvCell(row[column])).join(',');
}

export function csvHeader(columns: readonly string[]): string {
  return columns.map((c) => csvCell(c)).join(',');
}

/** Pieces of a file around its records: JSON is one array, NDJSON a line each, CSV a header first. */
export function framing(format: SimFormat, columns: readonly string[]) {
  switch (format) {
    case 'json':
      return {
        head: '[',
        record: (row: SimRow, index: number) => `${index === 0 ? '' : ','}\n${jsonRecord(row)}`,
        tail: '\n]\n',
      };
    case 'ndjson':
      return { head: '', record: (row: SimRow) => `${jsonRecord(row)}\n`, tail: '' };
    case 'csv':
      return {
        head: `${csvHeader(columns)}\r\n`,
        record: (row: SimRow) => `${csvRecord(columns, row)}\r\n`,
        tail: '',
      };
  }
}
