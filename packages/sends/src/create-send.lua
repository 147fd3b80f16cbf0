-- Records a send and queues its items in one step, so an accepted request is never half-queued.
-- KEYS: send hash, items hash, pending list, idempotency key, index of pending lists,
--       index of sends (newest last), the index's sequence
-- ARGV: id, kind, credential, createdAt, idempotencyTtlSeconds, hasIdempotencyKey, n,
--       pending list's index entry, idempotency key's value (id and fingerprint), item...
-- Returns the new id, or what the idempotency key holds when it was used before.
if ARGV[6] == '1' then
  local existing = redis.call('GET', KEYS[4])
  if existing then return existing end
end
local n = tonumber(ARGV[7])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'kind', ARGV[2], 'credential', ARGV[3],
  'createdAt', ARGV[4], 'total', n, 'sent', 0, 'failed', 0)
for i = 1, n do
  redis.call('HSET', KEYS[2], i - 1, ARGV[9 + i])
  redis.call('RPUSH', KEYS[3], ARGV[1] .. '|' .. (i - 1))
end
redis.call('SADD', KEYS[5], ARGV[8])
-- A sequence, not the clock: sends accepted in the same millisecond still list in order.
redis.call('ZADD', KEYS[6], redis.call('INCR', KEYS[7]), ARGV[1])
if ARGV[6] == '1' then redis.call('SET', KEYS[4], ARGV[9], 'EX', ARGV[5]) end
return ARGV[1]
