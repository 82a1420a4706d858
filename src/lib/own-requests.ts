// Requests an API process sends itself (the boot warm-up, src/warmup.ts), not a client's: they are
// not rate limited, logged or counted in the HTTP metrics. Marked by object identity, so nothing a
// client can send (no header) passes for one.
const own = new WeakSet<Request>()

export function ownRequest(url: string, init?: RequestInit): Request {
  const request = new Request(url, init)
  own.add(request)
  return request
}

export const isOwnRequest = (request: Request): boolean => own.has(request)
