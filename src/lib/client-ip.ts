// The client address used for rate limits and the audit log. X-Forwarded-For is client-controlled,
// so it is only believed when TRUST_PROXY says a proxy we run sets it (then its last hop is ours).
import { config } from '../config'

type IpSource = { requestIP(request: Request): { address: string } | null } | null | undefined

export function clientIp(server: IpSource, request: Request): string {
  if (config.TRUST_PROXY) {
    const forwarded = request.headers.get('x-forwarded-for')
    const last = forwarded?.split(',').at(-1)?.trim()
    if (last) return last
  }
  // In-process requests (app.handle in tests) have no socket.
  return server?.requestIP(request)?.address ?? 'local'
}
