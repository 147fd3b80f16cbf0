export {
  customFieldType,
  EVENT_FIELDS,
  type ExportKind,
  type FieldSpec,
  type FieldType,
  fieldType,
  INDIVIDUAL_FIELDS,
  isCatalogField,
} from './fields.js';
export { canonicalRow, canonicalValue, type RawValue, RowDigest } from './row-digest.js';
