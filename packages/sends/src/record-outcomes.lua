-- Records items' outcomes once each ('' = sent, else the failure as JSON) and finishes the send
-- when every item has one. Repeating a call changes nothing.
-- KEYS: send hash, outcome hash, failures hash, items hash
-- ARGV: finishedAt, ttlSeconds, (index, outcome)...
local sent, failed = 0, 0
for i = 3, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1]) == 1 then
    if ARGV[i + 1] == '' then
      sent = sent + 1
    else
      failed = failed + 1
      redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
    end
  end
end
if sent > 0 then redis.call('HINCRBY', KEYS[1], 'sent', sent) end
if failed > 0 then redis.call('HINCRBY', KEYS[1], 'failed', failed) end
local s = redis.call('HMGET', KEYS[1], 'total', 'sent', 'failed', 'finishedAt')
local finished = 0
if s[1] and not s[4] and tonumber(s[2]) + tonumber(s[3]) >= tonumber(s[1]) then
  redis.call('HSET', KEYS[1], 'finishedAt', ARGV[1])
  for k = 1, 4 do redis.call('EXPIRE', KEYS[k], ARGV[2]) end
  finished = 1
end
return { sent, failed, finished }
