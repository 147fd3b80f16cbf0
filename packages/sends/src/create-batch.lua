-- Creates a batch unless it exists (a retry batch made again by a re-run job), listed among the
-- open batches.
-- KEYS: batch hash, open-batch index
-- ARGV: kind, credential, createdAt, refsJson, count, mode, attempt, createdAtMs, batchId
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'kind', ARGV[1], 'credential', ARGV[2], 'createdAt', ARGV[3],
  'refs', ARGV[4], 'count', ARGV[5], 'mode', ARGV[6], 'attempt', ARGV[7], 'state', 'open')
redis.call('ZADD', KEYS[2], ARGV[8], ARGV[9])
return 1
