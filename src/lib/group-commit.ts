// Group commit: requests for one key (a hot product) that arrive while a batch of that key is being
// written are collected (≤ windowMs or maxBatch) and handed to `flush` together, so N requests
// share one transaction (one WAL flush). At most `maxInflight` batches per key run at once; whatever
// queued up meanwhile goes as soon as one ends. A key's queue is dropped when it goes idle. The
// caller's `flush` settles every item (resolve or reject); if it throws, every unsettled item is
// rejected with that error.
export type GroupItem<T> = T & { resolve: () => void; reject: (err: unknown) => void }

export type GroupCommitOptions<T> = {
  windowMs: number
  maxBatch: number
  maxInflight: number
  flush: (key: string, items: GroupItem<T>[]) => Promise<void>
}

class Group<T> {
  private queue: GroupItem<T>[] = []
  private inflight = 0
  private timer: ReturnType<typeof setTimeout> | null = null

  constructor(
    private readonly key: string,
    private readonly owner: GroupCommit<T>,
  ) {}

  add(item: GroupItem<T>): void {
    const { maxBatch, windowMs } = this.owner.options
    this.queue.push(item)
    if (this.queue.length >= maxBatch) this.kick()
    else
      this.timer ??= setTimeout(() => {
        this.timer = null
        this.kick()
      }, windowMs)
  }

  private kick(): void {
    const { maxBatch, maxInflight, flush } = this.owner.options
    while (this.inflight < maxInflight && this.queue.length > 0) {
      const items = this.queue.splice(0, maxBatch)
      this.inflight++
      void flush(this.key, items)
        .catch((err) => {
          for (const i of items) i.reject(err)
        })
        .finally(() => {
          this.inflight--
          // Whatever queued up while we were writing goes now: that is the group commit.
          if (this.queue.length > 0) this.kick()
          else if (this.inflight === 0 && !this.timer) this.owner.forget(this.key)
        })
    }
  }
}

export class GroupCommit<T> {
  private readonly groups = new Map<string, Group<T>>()

  constructor(readonly options: GroupCommitOptions<T>) {}

  /** Queues one item under `key`; settles when its batch did (flush resolved or rejected it). */
  add(key: string, item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let g = this.groups.get(key)
      if (!g) {
        g = new Group(key, this)
        this.groups.set(key, g)
      }
      g.add({ ...item, resolve, reject })
    })
  }

  /** @internal a key went idle */
  forget(key: string): void {
    this.groups.delete(key)
  }
}
