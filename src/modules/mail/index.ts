// Admin view of the mail log: every order email, sent over SMTP or (without SMTP_URL) logged here.
import { Elysia, t } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { MailEntry, MailListQuery, pageLimit } from './model'
import { listMail } from './service'

const REDACTED = '[redacted: contains a password reset token]'

export const mailModule = new Elysia({ name: 'mail', tags: ['admin'] }).use(authPlugin).get(
  '/admin/mail',
  async ({ query }) => {
    const page = await listMail({ ...query, limit: pageLimit(query.limit) })
    return {
      items: page.items.map((m) => ({
        id: m.id,
        orderId: m.orderId,
        kind: m.kind,
        to: m.toAddress,
        subject: m.subject,
        // A reset email's body is a credential for the account: not even admins read it here.
        text: m.kind === 'password_reset' ? REDACTED : m.textBody,
        html: m.kind === 'password_reset' ? REDACTED : m.htmlBody,
        status: m.status,
        transport: m.transport,
        messageId: m.messageId,
        attempts: m.attempts,
        createdAt: m.createdAt.toISOString(),
        sentAt: m.sentAt?.toISOString() ?? null,
      })),
      nextCursor: page.nextCursor,
    }
  },
  {
    auth: 'admin',
    query: MailListQuery,
    response: { 200: t.Object({ items: t.Array(MailEntry), nextCursor: t.Nullable(t.String()) }), ...problems(401, 403, 422) },
    detail: { tags: ['admin'], summary: 'Order emails (mail log), newest first' },
  },
)
