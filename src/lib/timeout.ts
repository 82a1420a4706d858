// Bounds how long a caller waits for a promise. The promise itself is not cancelled (its late
// rejection is swallowed), so use it only where a late completion is harmless or deduplicated.
export function withTimeout<T>(p: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  p.catch(() => {})
  let timer: Timer | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}
