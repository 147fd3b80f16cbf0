import { z } from 'zod';

export const segmentSchema = z.object({
  id: z.string(),
  name: z.string(),
  creator: z.string().optional(),
  created: z.string().optional(),
  url: z.string().optional(),
});
export type Segment = z.infer<typeof segmentSchema>;

// The reference says nextPaginationToken, the OpenAPI file pagination_token: accept both.
export const segmentPageSchema = z.object({
  segments: z.array(segmentSchema).default([]),
  nextPaginationToken: z.string().optional(),
  pagination_token: z.string().optional(),
});

export const createExportResponseSchema = z.object({ operationId: z.string().min(1) });

const nullableString = z.string().nullish();

export const operationSchema = z.object({
  id: z.string().optional(),
  type: z.string().optional(),
  state: z.enum(['PENDING', 'RUNNING', 'COMPLETED', 'ERROR', 'FAILED']),
  errorDetails: nullableString,
  createdAt: nullableString,
  finishedAt: nullableString,
  estimatePctComplete: z.number().min(0).max(100).nullish(),
  results: z
    .object({
      searchExportId: z.string().optional(),
      downloadUrl: z.string().optional(),
      expires: z.string().optional(),
    })
    .nullish(),
});

export const exportResultsSchema = z.object({
  location: z.string().min(1),
  expires: z.string().optional(),
});

// Legacy docs spell Start/Stop/ID; other pages start/stop/Id: any case.
export const bundleListSchema = z.object({
  exports: z
    .array(z.record(z.string(), z.unknown()))
    .default([])
    .transform((items) =>
      items.map((item) => {
        const lower = Object.fromEntries(
          Object.entries(item).map(([k, v]) => [k.toLowerCase(), v]),
        );
        return z
          .object({
            start: z.coerce.number(),
            stop: z.coerce.number(),
            id: z.union([z.number(), z.string()]),
          })
          .parse(lower);
      }),
    ),
});
