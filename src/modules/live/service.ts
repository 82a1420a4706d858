// Starts and stops this API process's live-feed background work: the metrics tick (with its
// cross-instance election), heartbeats and the stock.changed listener. Called by src/index.ts after listen.
import { config } from '../../config'
import { redisUrl } from '../../infra/redis'
import { closeBus } from './bus'
import { closeAllClients, startHeartbeats } from './feed'
import { closeAllWatchers } from './sales'
import { watchStockChanges } from './stock'
import { startTicks } from './tick'

export function startLive(): () => Promise<void> {
  if (!redisUrl()) return async () => {}
  watchStockChanges()
  const stopTicks = startTicks(config.LIVE_TICK_MS)
  const stopHeartbeats = startHeartbeats()
  return async () => {
    stopTicks()
    stopHeartbeats()
    closeAllClients()
    closeAllWatchers()
    await closeBus()
  }
}
