// DataLoader-style coalescing: calls made during one event-loop turn are run as ONE batch when the
// turn ends (setImmediate), each caller getting its own result. Under a stampede, N concurrent
// checkouts then cost one statement instead of N; a lone call waits only for the end of its turn.
// A failing batch rejects every caller in it, unless `isolate`: then each input is retried alone
// and only the callers whose own input fails are rejected (one bad row must not sink the rest).
export function coalesce<I, O>(
  run: (inputs: I[]) => Promise<O[]>,
  opts: { maxBatch?: number; isolate?: boolean } = {},
): (input: I) => Promise<O> {
  const maxBatch = opts.maxBatch ?? 500
  type Call = { input: I; resolve: (o: O) => void; reject: (e: unknown) => void }
  let queue: Call[] = []
  const runAlone = (c: Call) =>
    run([c.input]).then(
      (outs) => c.resolve(outs[0] as O),
      (err) => c.reject(err),
    )
  const flush = () => {
    const batch = queue
    queue = []
    for (let i = 0; i < batch.length; i += maxBatch) {
      const part = batch.slice(i, i + maxBatch)
      run(part.map((c) => c.input)).then(
        (outs) => {
          for (const [j, c] of part.entries()) c.resolve(outs[j] as O)
        },
        (err) => {
          if (opts.isolate && part.length > 1) for (const c of part) void runAlone(c)
          else for (const c of part) c.reject(err)
        },
      )
    }
  }
  return (input) =>
    new Promise<O>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush)
      queue.push({ input, resolve, reject })
    })
}
