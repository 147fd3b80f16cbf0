import type { FieldViolation } from '../api-error.js';

/** v1's type suffixes (and their plurals). The v2 API refuses property names that carry one. */
export const TYPE_SUFFIX = /_(str|int|real|bool|date)s?$/;

export const DECLARED_TYPES = [
  'str',
  'strs',
  'int',
  'ints',
  'real',
  'reals',
  'bool',
  'bools',
  'date',
  'dates',
] as const;
export type DeclaredType = (typeof DECLARED_TYPES)[number];

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function matchesScalar(type: string, value: unknown): boolean {
  switch (type) {
    case 'str':
      return typeof value === 'string';
    case 'int':
      return typeof value === 'number' && Number.isInteger(value);
    case 'real':
      return typeof value === 'number' && Number.isFinite(value);
    case 'bool':
      return typeof value === 'boolean';
    case 'date':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value));
    default:
      return false;
  }
}

function matchesDeclared(type: DeclaredType, value: unknown): boolean {
  // Plurals are arrays of the singular type.
  if (type.endsWith('s'))
    return Array.isArray(value) && value.every((v) => matchesScalar(type.slice(0, -1), v));
  return matchesScalar(type, value);
}

/** Suffixed names anywhere in a properties object (nested objects too). */
function suffixViolations(properties: Json, at: string, out: FieldViolation[]): void {
  for (const [name, value] of Object.entries(properties)) {
    const field = `${at}.${name}`;
    if (TYPE_SUFFIX.test(name))
      out.push({
        field,
        description:
          'property names must not carry a type suffix (_str, _int, _real, _bool, _date)',
      });
    if (isObject(value)) suffixViolations(value, field, out);
  }
}

/**
 * The v2 rules for `properties` and its optional `schema`: no type suffixes, and a declared type
 * must match the value. Types are otherwise inferred, so anything JSON is accepted.
 */
export function propertyViolations(properties: unknown, schema: unknown): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (properties === undefined) return out;
  if (!isObject(properties)) return [{ field: 'properties', description: 'must be an object' }];
  suffixViolations(properties, 'properties', out);
  if (schema === undefined) return out;
  const declared = isObject(schema) ? schema.properties : undefined;
  if (!isObject(declared))
    return [...out, { field: 'schema.properties', description: 'must be an object' }];
  for (const [name, type] of Object.entries(declared)) {
    if (!(DECLARED_TYPES as readonly unknown[]).includes(type)) {
      out.push({
        field: `schema.properties.${name}`,
        description: `must be one of ${DECLARED_TYPES.join(', ')}`,
      });
    } else if (name in properties && !matchesDeclared(type as DeclaredType, properties[name])) {
      out.push({ field: `properties.${name}`, description: `is not a ${type}` });
    }
  }
  return out;
}

export { isObject };
