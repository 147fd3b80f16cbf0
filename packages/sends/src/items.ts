import { z } from 'zod';

/** What the intake accepts for the v2 server API: users and custom events. */
export const SEND_KINDS = ['users', 'events'] as const;
export type SendKind = (typeof SEND_KINDS)[number];

/** v1's type suffixes, which the v2 API refuses on property names. */
const TYPE_SUFFIX = /_(str|int|real|bool|date)s?$/;
const DECLARED_TYPES = ['str', 'int', 'real', 'bool', 'date'].flatMap((t) => [t, `${t}s`]);

function suffixedNames(value: unknown, at: string): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([name, inner]) => [
    ...(TYPE_SUFFIX.test(name) ? [`${at}.${name}`] : []),
    ...suffixedNames(inner, `${at}.${name}`),
  ]);
}

const properties = z.record(z.string().min(1).max(250), z.unknown()).superRefine((props, ctx) => {
  for (const name of suffixedNames(props, 'properties'))
    ctx.addIssue({
      code: 'custom',
      message: `${name}: v2 property names carry no type suffix (_str, _int, _real, _bool, _date); declare a type in schema instead`,
    });
});

const schema = z.object({
  properties: z.record(
    z.string(),
    z.enum(DECLARED_TYPES as [string, ...string[]], {
      message: `must be one of ${DECLARED_TYPES.join(', ')}`,
    }),
  ),
});

const nonEmpty = z.string().min(1).max(1_000);

export const userItemSchema = z
  .object({
    /** FullStory's id of an existing user: an update (`POST /v2/users/{id}`), always sent singly. */
    id: nonEmpty.optional(),
    uid: nonEmpty.optional(),
    display_name: nonEmpty.optional(),
    email: nonEmpty.optional(),
    properties: properties.optional(),
    schema: schema.optional(),
  })
  .strict();
export type UserItem = z.infer<typeof userItemSchema>;

export const eventItemSchema = z
  .object({
    name: z.string().min(1).max(250),
    timestamp: z.iso.datetime({ offset: true }).optional(),
    properties: properties.optional(),
    schema: schema.optional(),
    user: z
      .union([z.object({ uid: nonEmpty }).strict(), z.object({ id: nonEmpty }).strict()])
      .optional(),
    session: z
      .union([
        z.object({ id: nonEmpty }).strict(),
        z.object({ use_most_recent: z.literal(true) }).strict(),
      ])
      .optional(),
    context: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .superRefine((event, ctx) => {
    if (event.session && 'id' in event.session && event.user)
      ctx.addIssue({
        code: 'custom',
        path: ['user'],
        message: 'must not be given with session.id',
      });
    if (event.session && 'use_most_recent' in event.session && !event.user)
      ctx.addIssue({ code: 'custom', path: ['session'], message: 'use_most_recent needs user' });
  });
export type EventItem = z.infer<typeof eventItemSchema>;

/** Items one request may carry: enough for a back end's batch, small enough to queue at once. */
export const MAX_ITEMS_PER_REQUEST = 1_000;

export const itemSchemas = { users: userItemSchema, events: eventItemSchema } as const;

/** A request's body: one item or an array of them. */
export function sendBodySchema(kind: SendKind) {
  const item = itemSchemas[kind];
  return z.union([item, z.array(item).min(1).max(MAX_ITEMS_PER_REQUEST)]);
}
