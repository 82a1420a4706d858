// Starts and stops this API process's live-feed background work: the metrics tick (with its
// cross-instance election), heartbeats and the stock.changed listener. Called by src/index.ts after listen.
import { config } from '../../config'
import { redisUrl } from '../../infra/redis'
import { closeBus } from './bus'
import { closeAllClients, type Publisher, setPublisher, startHeartbeats } from './feed'
import { closeAllWatchers } from './sales'
import { watchStockChanges } from './stock'
import { startTicks } from './tick'

export function startLive(server: Publisher | null): () => Promise<void> {
  if (!redisUrl()) return async () => {}
  setPublisher(server)
  watchStockChanges()
  const stopTicks = startTicks(config.LIVE_TICK_MS)
  const stopHeartbeats = startHeartbeats()
  return async () => {
    stopTicks()
    stopHeartbeats()
    setPublisher(null)
    closeAllClients()
    closeAllWatchers()
    await closeBus()
  }
}
