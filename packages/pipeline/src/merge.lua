-- Atomically merge a JSON patch into an export record, unless the record is in a terminal state
-- (a cancelled export must stay cancelled whatever a late stage writes). ARGV[2] = "force"
-- bypasses the guard. Fields set to JSON null in the patch are removed.
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local record = cjson.decode(raw)
local terminal = record.state == 'completed' or record.state == 'failed' or record.state == 'cancelled'
if terminal and ARGV[2] ~= 'force' then return raw end
local patch = cjson.decode(ARGV[1])
for k, v in pairs(patch) do
  if v == cjson.null then record[k] = nil else record[k] = v end
end
local encoded = cjson.encode(record)
redis.call('SET', KEYS[1], encoded, 'KEEPTTL')
return encoded
