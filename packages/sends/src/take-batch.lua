-- Takes up to ARGV[1] queued items into a new batch, listed among the open batches. Keyed by the
-- caller's batch id: run again (a flush job retried after a crash) it returns the batch it made
-- instead of taking more.
-- KEYS: pending list, batch hash, open-batch index
-- ARGV: max, kind, credential, createdAt, importThreshold, createdAtMs, batchId
local existing = redis.call('HGET', KEYS[2], 'count')
if existing then return tonumber(existing) end
local refs = redis.call('LPOP', KEYS[1], ARGV[1])
if not refs then return 0 end
local mode = 'single'
if #refs >= tonumber(ARGV[5]) then mode = 'import' end
redis.call('HSET', KEYS[2], 'kind', ARGV[2], 'credential', ARGV[3], 'createdAt', ARGV[4],
  'refs', cjson.encode(refs), 'count', #refs, 'mode', mode, 'attempt', 1, 'state', 'open')
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[7])
return #refs
