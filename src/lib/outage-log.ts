// Logs a dependency's outage as a few lines instead of one per failed reconnect: one when it
// begins, a summary every `summaryEveryMs` while it lasts, one when it is over. A worker process
// has a dozen Redis clients (its own, BullMQ's blocking duplicates, every Worker and Queue relays
// the shared client's errors), and each retry of each one used to log: ~100 lines for a 6 s Redis
// outage, ~176 for a longer one.
type Log = { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void }

/** Errors that mean "cannot reach the server", as opposed to a failing command. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null
  const text = `${e?.code ?? ''} ${e?.message ?? String(err)}`
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|Connection is closed|Stream isn't writeable|Socket closed|connect ETIMEDOUT/i.test(
    text,
  )
}

export class OutageLog {
  private down = false
  private since = 0
  private errors = 0
  private unlogged = 0
  private lastLineAt = 0
  private closing: Timer | null = null

  /**
   * `settleMs`: after a client reports it is back, the outage ends once no error came for this
   * long (clients reconnect one by one; a straggler's error is part of the same outage).
   */
  constructor(
    private readonly name: string,
    private readonly log: Log,
    private readonly summaryEveryMs = 30_000,
    private readonly settleMs = 2_000,
  ) {}

  failed(source: string, err: unknown): void {
    const now = Date.now()
    const message = (err as Error | null)?.message ?? String(err)
    if (this.closing) {
      clearTimeout(this.closing)
      this.closing = setTimeout(() => this.close(), this.settleMs)
      this.closing.unref?.()
    }
    if (!this.down) {
      Object.assign(this, { down: true, since: now, errors: 1, unlogged: 0, lastLineAt: now })
      this.log.warn({ source, err: message }, `${this.name} unavailable; further connection errors are counted, not logged`)
      return
    }
    this.errors++
    this.unlogged++
    if (now - this.lastLineAt >= this.summaryEveryMs) {
      this.log.warn({ source, err: message, errors: this.unlogged, downForMs: now - this.since }, `${this.name} still unavailable`)
      this.lastLineAt = now
      this.unlogged = 0
    }
  }

  /** A client is connected again. */
  ok(): void {
    if (!this.down || this.closing) return
    this.closing = setTimeout(() => this.close(), this.settleMs)
    this.closing.unref?.()
  }

  get isDown(): boolean {
    return this.down
  }

  private close(): void {
    this.closing = null
    if (!this.down) return
    this.down = false
    this.log.info({ downForMs: Date.now() - this.since, errors: this.errors }, `${this.name} connection restored`)
  }
}
