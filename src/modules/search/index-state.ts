// Which vector index this process serves from, and why not when it serves none. Loaded at first
// use (and at boot), then a refresh loop every SEARCH_INDEX_REFRESH_MS picks up new versions and
// folds in changed products. Missing or corrupt → keyword-only, /ready `degraded` with the reason,
// and one `build-index` job requested (deduplicated while one waits or runs).
import { config } from '../../config'
import { requestContext } from '../../infra/context'
import { logger } from '../../infra/logger'
import { enqueue } from '../../infra/queues'
import { redisUrl } from '../../infra/redis'
import {
  CorruptIndex,
  foldIn,
  type IndexStatus,
  latestVersion,
  loadVersion,
  logIndexLoaded,
  readVersion,
  type VectorIndex,
} from './vector-index'

type State = { status: IndexStatus; reason: string | null; index: VectorIndex | null }
let state: State = { status: 'loading', reason: 'semantic index loading', index: null }
let started: Promise<void> | null = null
let timer: ReturnType<typeof setInterval> | null = null
let refreshing: Promise<void> | null = null

export function indexState(): Readonly<State> {
  return state
}

/** The index to search, or null (keyword-only). Starts loading on first use. */
export function currentIndex(): VectorIndex | null {
  void startIndex()
  return state.index
}

/** Readiness: why semantic search is unavailable, or null when it serves. */
export function indexDegradedReason(): string | null {
  void startIndex()
  return state.status === 'ready' ? null : state.reason
}

/** Loads the newest version and starts the refresh loop (idempotent; resolves when the first load ends). */
export function startIndex(): Promise<void> {
  // Outside the request that happened to start it: its deadline (REQUEST_TIMEOUT_MS) and request
  // id must not follow the load and the refresh timer (a 60 MB version read outlives a request).
  started ??= requestContext.exit(() =>
    refresh().finally(() => {
      timer ??= setInterval(() => void refresh(), config.SEARCH_INDEX_REFRESH_MS)
      timer.unref?.()
    }),
  )
  return started
}

/** One refresh: a newer version is loaded, else changed products are folded in. Never throws. */
export function refresh(): Promise<void> {
  refreshing ??= requestContext.exit(() =>
    refreshOnce().finally(() => {
      refreshing = null
    }),
  )
  return refreshing
}

async function refreshOnce(): Promise<void> {
  try {
    const latest = await latestVersion()
    if (latest === null) return unavailable('missing', 'semantic index missing: no version built yet')
    if (latest !== state.index?.version || state.status !== 'ready') {
      if (state.status === 'corrupt' && state.index === null && state.reason?.startsWith(`version ${latest}:`)) return
      const row = await readVersion(latest)
      if (!row) return unavailable('missing', `semantic index missing: version ${latest} vanished`)
      const t0 = performance.now()
      const index = await loadVersion(row)
      await foldIn(index)
      state = { status: 'ready', reason: null, index }
      logIndexLoaded(index, performance.now() - t0)
      return
    }
    await foldIn(state.index)
  } catch (err) {
    if (err instanceof CorruptIndex) return unavailable('corrupt', `semantic index corrupt: ${err.message}`)
    // A refresh that cannot reach Postgres keeps the loaded index (still correct, only staler).
    logger.warn({ err: (err as Error).message }, 'search index refresh failed')
    if (!state.index) state = { status: 'error', reason: `semantic index not loaded: ${(err as Error).message}`, index: null }
  }
}

function unavailable(status: 'missing' | 'corrupt', reason: string): void {
  const first = state.status !== status || state.reason !== reason
  state = { status, reason, index: null }
  if (first) {
    logger.warn({ reason }, 'semantic search off: serving keyword-only')
    void requestRebuild(reason)
  }
}

/**
 * Asks the worker for a new index version. Deduplicated by id while one waits or runs, so every
 * API process noticing the same missing index queues one build. Returns false without Redis.
 */
export async function requestRebuild(reason: string): Promise<boolean> {
  if (!redisUrl()) return false
  try {
    await enqueue(
      'search',
      'build-index',
      { reason },
      { deduplication: { id: 'search-build-index' }, attempts: 3, backoff: { type: 'exponential', delay: 5000 } },
    )
    return true
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'search rebuild request failed')
    return false
  }
}

/** Stops the loop and forgets the index (tests; shutdown). */
export async function stopIndex(): Promise<void> {
  if (timer) clearInterval(timer)
  timer = null
  await refreshing
  started = null
  state = { status: 'loading', reason: 'semantic index loading', index: null }
}
