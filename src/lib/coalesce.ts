// Request coalescing (DataLoader, without its cache): calls made during one event-loop turn are
// run as ONE batch when the turn ends (setImmediate), each caller getting its own result. Under a
// stampede, N concurrent checkouts then cost one statement instead of N; a lone call waits only
// for the end of its turn. A failing batch rejects every caller in it, unless `isolate`: then each
// input is retried alone and only the callers whose own input fails are rejected (one bad row must
// not sink the rest).
import DataLoader from 'dataloader'

export function coalesce<I, O>(
  run: (inputs: I[]) => Promise<O[]>,
  opts: { maxBatch?: number; isolate?: boolean } = {},
): (input: I) => Promise<O> {
  // Results are boxed: DataLoader rejects a caller whose result is an Error, and some batches
  // answer with Error values on purpose (the gate's pipelined replies).
  type Box = { value: O }
  const box = (outs: O[]): Box[] => outs.map((value) => ({ value }))
  const loader = new DataLoader<I, Box>(
    async (inputs) => {
      try {
        return box(await run([...inputs]))
      } catch (err) {
        if (!opts.isolate || inputs.length === 1) throw err
        return Promise.all(
          inputs.map((input) =>
            run([input]).then(
              (outs) => ({ value: outs[0] as O }),
              (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
            ),
          ),
        )
      }
    },
    { cache: false, maxBatchSize: opts.maxBatch ?? 500, batchScheduleFn: (callback) => setImmediate(callback) },
  )
  return (input) => loader.load(input).then(unbox)
}

const unbox = <O>(b: { value: O }): O => b.value
