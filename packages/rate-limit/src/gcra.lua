-- GCRA (a token bucket expressed as one timestamp): exact at window edges, one key, atomic.
-- KEYS[1] hash {tat, blocked}: the theoretical arrival time and a "blocked until" time, in ms.
-- ARGV: op ("acquire" | "penalize" | "peek"), emission interval ms, burst, penalty ms.
-- Time comes from Redis, so processes on machines with skewed clocks share one bucket correctly.
local key = KEYS[1]
local op = ARGV[1]
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tolerance = (burst - 1) * interval

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000

local state = redis.call('HMGET', key, 'tat', 'blocked')
local tat = tonumber(state[1]) or now
if tat < now then tat = now end
local blocked = tonumber(state[2]) or 0

local function save(new_tat, new_blocked)
  redis.call('HSET', key, 'tat', new_tat, 'blocked', new_blocked)
  local horizon = math.max(new_tat + tolerance, new_blocked) - now
  redis.call('PEXPIRE', key, math.ceil(horizon) + 1000)
end

if op == 'penalize' then
  -- FullStory said 429: its bucket is empty. Empty ours and block until Retry-After.
  local until_ms = now + tonumber(ARGV[4])
  if until_ms > blocked then blocked = until_ms end
  local empty = now + tolerance
  if empty > tat then tat = empty end
  save(tat, blocked)
  return {0, tostring(math.ceil(blocked - now))}
end

if now < blocked then
  return {0, tostring(math.ceil(blocked - now))}
end

local allow_at = tat - tolerance
if allow_at > now then
  return {0, tostring(math.ceil(allow_at - now))}
end

if op == 'peek' then
  return {1, tostring(math.floor((now - allow_at) / interval) + 1)}
end

save(tat + interval, blocked)
-- Tokens left after this one.
return {1, tostring(math.floor((now - allow_at) / interval))}
