import { Agent, type Dispatcher } from 'undici';
import { type DownloadResult, downloadToFile } from './download.js';
import {
  type ExportFormat,
  exportRequestBody,
  type RequestStyle,
  type SegmentExportRequest,
} from './export-request.js';
import { apiRequest, type HttpContext } from './http.js';
import {
  bundleListSchema,
  createExportResponseSchema,
  exportResultsSchema,
  operationSchema,
  type Segment,
  segmentPageSchema,
  segmentSchema,
} from './schemas.js';

export interface FullStoryClientOptions {
  /** @defaultValue 'https://api.fullstory.com' */
  baseUrl?: string;
  apiKey: string;
  /** Shared keep-alive connection pool; one per process is plenty. @defaultValue a new Agent */
  dispatcher?: Dispatcher;
  /** Headers and body timeouts. @defaultValue 30000 */
  timeoutMs?: number;
  /** @defaultValue 'workflow' (TYPE_EVENT / FORMAT_JSON) */
  requestStyle?: RequestStyle;
  /** Hosts a download location may point at; empty allows any https host. */
  downloadHosts?: readonly string[];
}

/** An operation, in one shape whichever documented variant FullStory answered with. */
export interface Operation {
  id: string;
  state: 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED';
  done: boolean;
  estimatePctComplete: number;
  errorDetails: string;
  createdAt: string | undefined;
  finishedAt: string | undefined;
  searchExportId: string | undefined;
  /** Present when the operation carries its download URL directly (the OpenAPI shape). */
  downloadUrl: string | undefined;
  expires: string | undefined;
}

export interface ExportLocation {
  location: string;
  expires: string | undefined;
}

export interface Bundle {
  id: string;
  /** Unix seconds. */
  start: number;
  stop: number;
}

/** FullStory writes `&` as `\u0026`; JSON parsing undoes one level, this undoes a doubled one. */
export function unescapeLocation(location: string): string {
  return location.replace(/\\u0026/gi, '&');
}

export function createDispatcher(): Agent {
  return new Agent({ keepAliveTimeout: 30_000, connections: 16, connect: { timeout: 10_000 } });
}

/** The connection settings every FullStory client shares. */
export function httpContext(options: FullStoryClientOptions): HttpContext {
  return {
    baseUrl: (options.baseUrl ?? 'https://api.fullstory.com').replace(/\/+$/, ''),
    apiKey: options.apiKey,
    dispatcher: options.dispatcher ?? createDispatcher(),
    timeoutMs: options.timeoutMs ?? 30_000,
    userAgent: 'fsx/0.1 (+https://github.com/fsx)',
  };
}

/**
 * A typed client for FullStory's export APIs. Every method is one HTTP call (listSegments and
 * listBundles excepted: they follow pages). It never retries and never logs the key: errors say
 * whether a retry can help, and the caller, which holds the rate limiter, decides.
 */
export class FullStoryClient {
  private readonly http: HttpContext;
  private readonly style: RequestStyle;
  private readonly downloadHosts: readonly string[];

  constructor(options: FullStoryClientOptions) {
    this.http = httpContext(options);
    this.style = options.requestStyle ?? 'workflow';
    this.downloadHosts = options.downloadHosts ?? [];
  }

  /** One page of segments. */
  async listSegmentsPage(pageToken?: string, limit = 100) {
    const page = await apiRequest(
      this.http,
      {
        method: 'GET',
        path: '/segments/v1',
        query: { limit, pagination_token: pageToken },
        what: 'list segments',
      },
      segmentPageSchema,
    );
    return {
      segments: page.segments,
      nextPageToken: page.nextPaginationToken ?? page.pagination_token,
    };
  }

  /** Every segment, page by page. `beforePage` lets a caller take a rate-limit token per call. */
  async listSegments(beforePage: () => Promise<void> = async () => {}): Promise<Segment[]> {
    const all: Segment[] = [];
    let token: string | undefined;
    do {
      await beforePage();
      const page = await this.listSegmentsPage(token);
      all.push(...page.segments);
      token = page.nextPageToken;
    } while (token);
    return all;
  }

  getSegment(segmentId: string): Promise<Segment> {
    return apiRequest(
      this.http,
      {
        method: 'GET',
        path: `/segments/v1/${encodeURIComponent(segmentId)}`,
        what: `segment ${segmentId}`,
      },
      segmentSchema,
    );
  }

  async createSegmentExport(request: SegmentExportRequest): Promise<{ operationId: string }> {
    return apiRequest(
      this.http,
      {
        method: 'POST',
        path: '/segments/v1/exports',
        body: exportRequestBody(request, this.style),
        what: `export of segment ${request.segmentId}`,
      },
      createExportResponseSchema,
    );
  }

  async getOperation(operationId: string): Promise<Operation> {
    const raw = await apiRequest(
      this.http,
      {
        method: 'GET',
        path: `/operations/v1/${encodeURIComponent(operationId)}`,
        what: `operation ${operationId}`,
      },
      operationSchema,
    );
    // The workflow guide says ERROR, the OpenAPI file FAILED: one state for callers.
    const state = raw.state === 'ERROR' ? 'FAILED' : raw.state;
    return {
      id: raw.id ?? operationId,
      state,
      done: state === 'COMPLETED' || state === 'FAILED',
      estimatePctComplete: raw.estimatePctComplete ?? (state === 'COMPLETED' ? 100 : 0),
      errorDetails: raw.errorDetails ?? '',
      createdAt: raw.createdAt || undefined,
      finishedAt: raw.finishedAt || undefined,
      searchExportId: raw.results?.searchExportId,
      downloadUrl: raw.results?.downloadUrl ? unescapeLocation(raw.results.downloadUrl) : undefined,
      expires: raw.results?.expires,
    };
  }

  async getExportResults(searchExportId: string): Promise<ExportLocation> {
    const results = await apiRequest(
      this.http,
      {
        method: 'GET',
        path: `/search/v1/exports/${encodeURIComponent(searchExportId)}/results`,
        what: `results of export ${searchExportId}`,
      },
      exportResultsSchema,
    );
    return { location: unescapeLocation(results.location), expires: results.expires };
  }

  /** Downloads an export file from its storage location: no auth header, resumable. */
  downloadExport(
    location: string,
    destination: string,
    options: { resume?: boolean; maxBytes?: number } = {},
  ): Promise<DownloadResult> {
    return downloadToFile({
      url: location,
      destination,
      dispatcher: this.http.dispatcher,
      timeoutMs: this.http.timeoutMs,
      allowedHosts: this.downloadHosts,
      ...options,
    });
  }

  /** One page of legacy Data Export bundles: the first 20 whose Stop is after `start`. */
  async listBundlesPage(start: number): Promise<Bundle[]> {
    const page = await apiRequest(
      this.http,
      {
        method: 'GET',
        path: '/api/v1/export/list',
        query: { start },
        what: 'list of export bundles',
      },
      bundleListSchema,
    );
    return page.exports.map((b) => ({ id: String(b.id), start: b.start, stop: b.stop }));
  }

  /** Every bundle after `start`, following the 20-item pages. */
  async listBundles(
    start: number,
    beforePage: () => Promise<void> = async () => {},
  ): Promise<Bundle[]> {
    const all: Bundle[] = [];
    let cursor = start;
    for (;;) {
      await beforePage();
      const page = await this.listBundlesPage(cursor);
      all.push(...page);
      const last = page.at(-1);
      if (page.length < 20 || !last || last.stop <= cursor) return all;
      cursor = last.stop;
    }
  }

  /** Downloads a legacy bundle (authenticated, its own 2/minute limit). */
  downloadBundle(
    bundleId: string,
    destination: string,
    options: { resume?: boolean } = {},
  ): Promise<DownloadResult> {
    const url = new URL('/api/v1/export/get', `${this.http.baseUrl}/`);
    url.searchParams.set('id', bundleId);
    return downloadToFile({
      url: url.toString(),
      destination,
      dispatcher: this.http.dispatcher,
      timeoutMs: this.http.timeoutMs,
      headers: { authorization: `Basic ${this.http.apiKey}` },
      ...options,
    });
  }

  /** The format FullStory will write for a request, for callers that stage files by extension. */
  static fileExtension(format: ExportFormat): string {
    return `${format}.gz`;
  }
}
