/** fsx's own names for what to export; FullStory's spellings map onto them. */
export type ExportType = 'events' | 'individuals';
export type ExportFormat = 'json' | 'ndjson' | 'csv';

export interface TimeRange {
  /** RFC 3339; inclusive. Empty or absent: since forever. */
  start?: string;
  /** RFC 3339; exclusive. Empty or absent: until now. */
  end?: string;
}

export interface SegmentExportRequest {
  segmentId: string;
  type: ExportType;
  format: ExportFormat;
  timeRange?: TimeRange;
  segmentTimeRange?: TimeRange;
  timezone?: string;
  fields?: string[];
}

/**
 * The request style: the workflow guide's `TYPE_EVENT`/`FORMAT_JSON` (default) or the OpenAPI
 * file's `events`/`json`. NDJSON has no lower-case spelling, so it is always `FORMAT_NDJSON`.
 */
export type RequestStyle = 'workflow' | 'openapi';

const TYPE_ALIASES: Record<string, ExportType> = {
  events: 'events',
  event: 'events',
  TYPE_EVENT: 'events',
  individuals: 'individuals',
  individual: 'individuals',
  TYPE_INDIVIDUAL: 'individuals',
};
const FORMAT_ALIASES: Record<string, ExportFormat> = {
  json: 'json',
  FORMAT_JSON: 'json',
  ndjson: 'ndjson',
  FORMAT_NDJSON: 'ndjson',
  csv: 'csv',
  FORMAT_CSV: 'csv',
};

export const normalizeExportType = (value: string): ExportType | undefined => TYPE_ALIASES[value];
export const normalizeExportFormat = (value: string): ExportFormat | undefined =>
  FORMAT_ALIASES[value];

export function exportRequestBody(request: SegmentExportRequest, style: RequestStyle = 'workflow') {
  const type =
    style === 'openapi'
      ? request.type
      : request.type === 'events'
        ? 'TYPE_EVENT'
        : 'TYPE_INDIVIDUAL';
  const format =
    style === 'openapi' && request.format !== 'ndjson'
      ? request.format
      : `FORMAT_${request.format.toUpperCase()}`;
  return {
    segmentId: request.segmentId,
    type,
    format,
    ...(request.timeRange
      ? { timeRange: { start: request.timeRange.start ?? '', end: request.timeRange.end ?? '' } }
      : {}),
    ...(request.segmentTimeRange
      ? {
          segmentTimeRange: {
            start: request.segmentTimeRange.start ?? '',
            end: request.segmentTimeRange.end ?? '',
          },
        }
      : {}),
    ...(request.timezone ? { timezone: request.timezone } : {}),
    ...(request.fields?.length ? { fields: request.fields } : {}),
  };
}
