import { z } from 'zod';

/** Property values as JSON; their types are inferred by FullStory or declared in `schema`. */
const properties = z.record(z.string(), z.unknown());

export const v2UserSchema = z.object({
  id: z.string(),
  uid: z.string().optional(),
  display_name: z.string().optional(),
  email: z.string().optional(),
  properties: properties.optional(),
});
export type V2UserRecord = z.infer<typeof v2UserSchema>;

export const v2UserIdSchema = z.object({ id: z.string().min(1) });

export const v2UserPageSchema = z.object({
  results: z.array(v2UserSchema).default([]),
  total_records: z.string().optional(),
  next_page_token: z.string().optional(),
});

export const batchJobSchema = z.object({
  id: z.string().min(1),
  status: z.enum(['PROCESSING', 'COMPLETED', 'FAILED']),
  created: z.string().optional(),
  finished: z.string().optional(),
});

export const createBatchResponseSchema = z.object({ job: batchJobSchema });

export const batchStatusSchema = z.object({
  imports: z.coerce.number().default(0),
  errors: z.coerce.number().default(0),
  job: batchJobSchema,
});

export const batchErrorPageSchema = z.object({
  results: z
    .array(
      z.object({
        message: z.string().default(''),
        code: z.string().default('unknown'),
        user: z.unknown().optional(),
        event: z.unknown().optional(),
      }),
    )
    .default([]),
  next_page_token: z.string().optional(),
});
