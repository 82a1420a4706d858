// Live feed schemas. The WebSocket messages are JSON `{ seq, type, at, data }` (docs/analytics.md).
import { t } from 'elysia'

export const LiveTicket = t.Object({ ticket: t.String({ description: 'single-use, valid ~30 s: GET /api/v1/admin/live?ticket=' }) })

export const AdminLiveQuery = t.Object({
  ticket: t.Optional(t.String({ maxLength: 64 })),
  since: t.Optional(t.Integer({ minimum: 0, description: 'replay messages after this seq (from the bounded log)' })),
})

export const SaleLiveParams = t.Object({ id: t.String({ format: 'uuid' }) })
