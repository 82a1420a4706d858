// Notices that Redis came back without its data. Each worker keeps an epoch key under the app's
// prefix (SET NX: the first worker to find it missing writes a new one) and the server's run_id.
// The epoch key missing or replaced = the data is gone (restart without persistence, a flush);
// a new run_id = another server (failover to a replica that may lag, or a restart from an older
// snapshot). Either way the caller's recovery runs; it is idempotent, so a false alarm (a plain
// restart that kept its data, a brand-new Redis) only costs a sweep. Checked whenever the
// connection becomes ready and every REDIS_EPOCH_CHECK_MS (catches a flush without a disconnect).
import type Redis from 'ioredis'
import { logger } from '../src/infra/logger'
import { key } from '../src/infra/redis'
import { withTimeout } from '../src/lib/timeout'

export type EpochWatch = { check: () => Promise<void>; stop: () => void }

export function watchRedisEpoch(client: Redis, everyMs: number, onLost: (why: string) => Promise<void>): EpochWatch {
  const epochKey = key('epoch')
  let epoch: string | null = null
  let runId: string | null = null
  let owed: string | null = null // a loss was seen and its recovery has not succeeded yet
  let running: Promise<void> | null = null

  const probe = async (): Promise<string | null> => {
    const res = await client.multi().set(epochKey, Bun.randomUUIDv7(), 'NX').get(epochKey).exec()
    const created = res?.[0]?.[1] === 'OK'
    const current = String(res?.[1]?.[1] ?? '')
    // INFO may be renamed away on managed Redis: then the epoch key alone decides.
    const info = await client.info('server').catch(() => '')
    const server = /run_id:(\w+)/.exec(info)?.[1] ?? null
    let why: string | null = null
    if (created) why = epoch ? 'the epoch key is gone' : 'no epoch key (a new or emptied Redis)'
    else if (epoch && current !== epoch) why = 'the epoch key was replaced (emptied; another worker noticed first)'
    else if (runId && server && server !== runId) why = `another Redis server (run_id ${runId} → ${server})`
    epoch = current
    runId = server ?? runId
    return why
  }

  const check = (): Promise<void> => {
    running ??= (async () => {
      if (client.status !== 'ready') return
      try {
        owed = (await withTimeout(probe(), 5000, 'redis epoch probe timed out')) ?? owed
        if (owed) {
          await onLost(owed)
          owed = null
        }
      } catch (err) {
        // Retried on the next tick: `owed` stays set until a recovery succeeds.
        logger.warn({ err: (err as Error).message, pendingRecovery: owed }, 'redis epoch check or recovery failed; retrying')
      }
    })().finally(() => {
      running = null
    })
    return running
  }

  const onReady = () => void check()
  client.on('ready', onReady)
  const timer = setInterval(onReady, everyMs)
  timer.unref?.()
  void check()
  return {
    check,
    stop: () => {
      clearInterval(timer)
      client.off('ready', onReady)
    },
  }
}
