// What cache-aside.ts keeps in Redis for a cached key `k`: the value at `k` (or the NEGATIVE
// marker), a generation counter at `k:gen` that invalidation bumps, and the fill lock at `k:lock`;
// and the scripts that read and write them atomically (one round trip each).

/** Stored for a loader's `null` (a 404), for the negative TTL. */
export const NEGATIVE = '\u0000404'

// KEYS: lock, gen. ARGV: token, lockMs. Returns [acquired, generation] in one round trip, so the
// generation is always read before the caller touches the database.
export const LOCK_SCRIPT = `
local ok = redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
return {ok and 1 or 0, redis.call('get', KEYS[2]) or '0'}`
// KEYS: value, gen, lock. ARGV: expected generation, payload, ttlMs, lock token (may be '').
// Stores only if no invalidation happened since the generation was read; releases our lock.
export const FILL_SCRIPT = `
local stored = 0
if (redis.call('get', KEYS[2]) or '0') == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3])
  stored = 1
end
if ARGV[4] ~= '' and redis.call('get', KEYS[3]) == ARGV[4] then redis.call('del', KEYS[3]) end
return stored`
export const GEN_TTL_MS = 24 * 3600 * 1000

/** KEYS: lock. ARGV: token. Releases the lock only if it is still ours. */
export const UNLOCK_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end`
