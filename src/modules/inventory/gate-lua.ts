// The gate's Lua scripts (see gate.ts for the data they keep and why). Each one is atomic in Redis,
// which is what makes a take, a release and a reclaim happen exactly once per ticket.

/** Loaded counters expire so that any drift we failed to see heals by itself. */
export const GATE_TTL_SECONDS = 600

// Lua: the product of KEYS[1] is not sold; the gate drops its counter and stops vouching for it.
const MARK_NOT_SOLD = `
redis.call('HDEL', KEYS[1], 'a')
redis.call('HSET', KEYS[1], 'x', '1')
redis.call('EXPIRE', KEYS[1], ${GATE_TTL_SECONDS})`

// KEYS[1] gate hash, KEYS[2] its leases; ARGV = value ('' = not sold), expected generation, ttl,
// force. Installs `a` only if no availability-adding change happened since the caller read the
// generation, and then drops the leases (the value read from Postgres counts their units). Returns
// -1 stale, 0 kept existing, 1 loaded, 2 corrected (force and the value differed).
export const LOAD = `
local g = redis.call('HGET', KEYS[1], 'g') or '0'
if g ~= ARGV[2] then return -1 end
if ARGV[1] == '' then
  ${MARK_NOT_SOLD}
  return 1
end
local cur = redis.call('HGET', KEYS[1], 'a')
if cur and ARGV[4] ~= '1' then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], 'x')
redis.call('HSET', KEYS[1], 'a', ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
if cur and cur ~= ARGV[1] then return 2 end
return 1`

// KEYS = gate hashes, ARGV = deltas..., bumpGeneration ('1'|'0'), ttl. Adds to loaded counters only:
// creating a counter from a delta would invent a value far below the truth.
export const ADJUST = `
local n = #KEYS
local bump = ARGV[n + 1] == '1'
for i = 1, n do
  if bump then redis.call('HINCRBY', KEYS[i], 'g', 1) end
  if redis.call('HEXISTS', KEYS[i], 'a') == 1 then redis.call('HINCRBY', KEYS[i], 'a', tonumber(ARGV[i])) end
  if redis.call('TTL', KEYS[i]) == -1 then redis.call('EXPIRE', KEYS[i], tonumber(ARGV[n + 2])) end
end
return n`

// KEYS[1]. The product is no longer sold: drop its counter, mark it, and bump the generation so a
// load that read Postgres before the deletion cannot reinstall a counter.
export const RETIRE = `
redis.call('HINCRBY', KEYS[1], 'g', 1)
${MARK_NOT_SOLD}
return 1`

// Takes units, all or nothing (checks every line before decrementing any), and leases them.
// KEYS[1] = a marker that makes the call back off (the checkout door: the request's Idempotency-Key
// was already claimed, so a retry must replay, not be refused), checked only when ARGV[1] == '1'
// and then set on a take (ARGV[n + 2] = its TTL): the admitted request goes on to claim that key,
// so this saves it a round trip; KEYS[2..n+1] = gate hashes, ARGV[2..n+1] = quantities;
// KEYS[n+2..2n+1] = their lease sets, ARGV[n+3] = ticket id, ARGV[n+4] = lease ms; KEYS[2n+2] =
// the key saying every claimed key has its marker (when ARGV[1] == '1'). A short line first
// reclaims its product's expired leases. Returns {1, reclaimed} taken, {-1} marker present, {-2} a
// counter not loaded, {-3} a product not sold (Postgres decides), {0, reclaimed, i...} short
// (1-based line indexes), {-4, reclaimed, i...} short but the markers may be incomplete (the
// caller asks Postgres whether the key is held before refusing).
export const TAKE = `
local n = (#KEYS - 2) / 2
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return {-1} end
local now
local function clock()
  if not now then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now
end
local reclaimed = 0
local function reclaim(gk, lk)
  local due = redis.call('ZRANGEBYSCORE', lk, '-inf', clock(), 'LIMIT', 0, 500)
  if #due == 0 then return 0 end
  local units = 0
  for _, m in ipairs(due) do units = units + tonumber(string.match(m, ':(%d+)$')) end
  redis.call('ZREM', lk, unpack(due))
  redis.call('HINCRBY', gk, 'a', units)
  reclaimed = reclaimed + units
  return units
end
local short = {}
for i = 2, n + 1 do
  if redis.call('HEXISTS', KEYS[i], 'x') == 1 then return {-3} end
  local a = redis.call('HGET', KEYS[i], 'a')
  if not a then return {-2} end
  local q = tonumber(ARGV[i])
  if tonumber(a) < q and tonumber(a) + reclaim(KEYS[i], KEYS[n + i]) < q then short[#short + 1] = i - 1 end
end
if #short > 0 then
  if ARGV[1] == '1' and redis.call('EXISTS', KEYS[#KEYS]) == 0 then return {-4, reclaimed, unpack(short)} end
  return {0, reclaimed, unpack(short)}
end
local expiry = clock() + tonumber(ARGV[n + 4])
for i = 2, n + 1 do
  redis.call('HINCRBY', KEYS[i], 'a', -tonumber(ARGV[i]))
  redis.call('ZADD', KEYS[n + i], expiry, ARGV[n + 3] .. ':' .. ARGV[i])
  redis.call('PEXPIRE', KEYS[n + i], ${GATE_TTL_SECONDS * 1000} + tonumber(ARGV[n + 4]))
end
if ARGV[1] == '1' then redis.call('SET', KEYS[1], '1', 'EX', tonumber(ARGV[n + 2])) end
return {1, reclaimed}`

// Ends a ticket's leases. KEYS[1..n] = gate hashes, KEYS[n+1..2n] = lease sets; ARGV[1] = ticket
// id, ARGV[2] = '1' give the units back (the write failed or never happened) | '0' (committed),
// ARGV[3..] = quantities. Units go back only for a lease still held (not reclaimed, not dropped by
// a load) and only to a loaded counter. Returns the lines given back.
export const RELEASE = `
local n = #KEYS / 2
local back = 0
for i = 1, n do
  local q = ARGV[i + 2]
  if redis.call('ZREM', KEYS[n + i], ARGV[1] .. ':' .. q) == 1 and ARGV[2] == '1' and redis.call('HEXISTS', KEYS[i], 'a') == 1 then
    redis.call('HINCRBY', KEYS[i], 'a', tonumber(q))
    back = back + 1
  end
end
return back`
