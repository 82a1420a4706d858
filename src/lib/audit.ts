// The security audit log (db/schema/auth.ts): one append-only row per security-relevant act. Here
// rather than in auth because several modules audit (auth, users, risk) and auth must not become
// everyone's dependency (risk → auth → mail → orders → risk would be a module cycle).
import { type AuditEvent, auditLog } from '../../db/schema'
import type { DbOrTx } from '../infra/db'

export type AuditMeta = { ip: string; requestId: string }

export async function audit(
  q: DbOrTx,
  event: AuditEvent,
  userId: string | null,
  meta: AuditMeta | null,
  details: Record<string, unknown> = {},
): Promise<void> {
  await q.insert(auditLog).values({ event, userId, ip: meta?.ip ?? null, requestId: meta?.requestId ?? null, details })
}
