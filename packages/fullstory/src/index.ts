export {
  type Bundle,
  createDispatcher,
  type ExportLocation,
  FullStoryClient,
  type FullStoryClientOptions,
  type Operation,
  unescapeLocation,
} from './client.js';
export { checkLocation, type DownloadResult } from './download.js';
export {
  DownloadExpiredError,
  DownloadRejectedError,
  type FieldDetail,
  ForbiddenError,
  FullStoryError,
  type FullStoryErrorCode,
  InvalidRequestError,
  isFullStoryError,
  NotFoundError,
  RateLimitedError,
  TransientError,
  UnauthorizedError,
  UnexpectedResponseError,
} from './errors.js';
export {
  type ExportFormat,
  type ExportType,
  exportRequestBody,
  normalizeExportFormat,
  normalizeExportType,
  type RequestStyle,
  type SegmentExportRequest,
  type TimeRange,
} from './export-request.js';
export type { Segment } from './schemas.js';
export {
  type BatchItemError,
  type BatchJob,
  type BatchKind,
  FullStoryServerClient,
  isRetryableItemCode,
  type V2Event,
  type V2User,
} from './server-client.js';
export type { V2UserRecord } from './server-schemas.js';
