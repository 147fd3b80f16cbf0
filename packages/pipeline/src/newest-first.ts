import type { Redis } from 'ioredis';

/** One page of a listing: the items, and the cursor to pass for the next page (none at the end). */
export interface Page<T> {
  records: T[];
  nextCursor: number | undefined;
}

/**
 * Pages through the ids of a sorted set, newest (highest score) first, loading them in batches and
 * keeping those `keep` accepts. The cursor is an offset into the set; ids whose record is gone
 * (expired) load as undefined and are skipped, and handed to `forget` (to drop them from the set)
 * once the page is complete, the cursor moved back by as many.
 */
export async function pageNewestFirst<T>(
  redis: Redis,
  indexKey: string,
  options: { limit: number; cursor?: number | undefined },
  load: (ids: string[]) => Promise<(T | undefined)[]>,
  keep: (record: T) => boolean = () => true,
  forget?: (ids: string[]) => Promise<void>,
): Promise<Page<T>> {
  const records: T[] = [];
  const gone: string[] = [];
  let offset = options.cursor ?? 0;
  const batch = Math.max(options.limit, 100);
  const page = async (nextCursor: number | undefined): Promise<Page<T>> => {
    if (forget && gone.length > 0) {
      await forget(gone);
      // The forgotten ids were before the cursor: what followed them moved up as many places.
      if (nextCursor !== undefined) nextCursor -= gone.length;
    }
    return { records, nextCursor };
  };
  for (;;) {
    const ids = await redis.zrevrange(indexKey, offset, offset + batch - 1);
    if (ids.length === 0) return page(undefined);
    for (const [i, record] of (await load(ids)).entries()) {
      offset += 1;
      if (record === undefined) gone.push(ids[i] as string);
      if (record === undefined || !keep(record)) continue;
      records.push(record);
      if (records.length === options.limit) {
        const atEnd = i === ids.length - 1 && ids.length < batch;
        return page(atEnd ? undefined : offset);
      }
    }
  }
}
