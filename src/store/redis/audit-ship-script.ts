/**
 * Applies one batch of a replica's audit records atomically, in chain order, idempotently.
 *
 * KEYS: cursor, days, segments, then one stream per day the batch touches.
 * ARGV: gen, mode ('init' | 'next'), prev (seq the batch follows), low (oldest seq held locally), now (ms),
 *       header count H, H × (first_seq, header JSON), D day names (one per stream key), then per record
 *       (stream index 1..D, seq, hash, segment first_seq, record JSON).
 *
 * 'next' refuses a batch unless the cursor exists with the same generation (Redis restarted empty: NOGEN, or another
 * generation took over: GEN) and has reached `prev` (writes lost in a failover: BEHIND); the shipper then re-reads the
 * cursor and re-ships from there. A record whose id is already in its stream is a re-send: accepted when its hash is
 * the same, refused (FORK) when not, since that would overwrite evidence.
 * Returns {'OK', added, duplicates, missing} or {code, detail}.
 */
export const SHIP_SCRIPT = `
local gen, mode, prev = ARGV[1], ARGV[2], tonumber(ARGV[3])
local cur = redis.call('HMGET', KEYS[1], 'gen', 'seq', 'hash')
local curSeq = tonumber(cur[2] or '0') or 0
local curHash = cur[3] or ''
if mode == 'next' then
  if not cur[1] then return {'NOGEN', '0'} end
  if cur[1] ~= gen then return {'GEN', cur[1]} end
  if curSeq < prev then return {'BEHIND', tostring(curSeq)} end
else
  curSeq = 0
  curHash = ''
end
local i = 6
local h = tonumber(ARGV[i])
for _ = 1, h do
  redis.call('HSET', KEYS[3], ARGV[i + 1], ARGV[i + 2])
  i = i + 2
end
local d = #KEYS - 3
for k = 1, d do
  local day = ARGV[i + k]
  redis.call('ZADD', KEYS[2], 'NX', tonumber(day), day)
end
i = i + d + 1
local added, dup, missing = 0, 0, 0
local lastSeq, lastHash = curSeq, curHash
while i <= #ARGV do
  local key = KEYS[3 + tonumber(ARGV[i])]
  local seq, hash = ARGV[i + 1], ARGV[i + 2]
  local id = seq .. '-0'
  local res = redis.pcall('XADD', key, id, 's', ARGV[i + 3], 'h', hash, 'r', ARGV[i + 4])
  if type(res) == 'table' and res.err then
    local e = redis.call('XRANGE', key, id, id)
    if #e == 1 then
      local f = e[1][2]
      local have = ''
      for j = 1, #f, 2 do if f[j] == 'h' then have = f[j + 1] end end
      if have ~= hash then return {'FORK', seq} end
      dup = dup + 1
    else
      missing = missing + 1
    end
  else
    added = added + 1
  end
  if tonumber(seq) > lastSeq then lastSeq, lastHash = tonumber(seq), hash end
  i = i + 5
end
redis.call('HSET', KEYS[1], 'gen', gen, 'seq', tostring(lastSeq), 'hash', lastHash, 'low', ARGV[4], 'updated', ARGV[5])
return {'OK', tostring(added), tostring(dup), tostring(missing)}
`;
