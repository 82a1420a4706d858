// Transactional email with exactly-once intent. mail_log has UNIQUE (order_id, kind): the row is
// inserted first (no lookup before it: one order, one email, so almost every job is a first
// delivery), so a retried or duplicated job meets the conflict, finds the row and does nothing more.
//  - No SMTP_URL: the row itself is the delivery (status `logged`), written once by the insert.
//  - SMTP: the row is claimed (`pending` → `sending`), the message is sent, then marked `sent`.
//    An SMTP error puts it back to `pending` and the job retries. The one window no design can
//    close is a crash after the SMTP server accepted the message and before `sent` is committed:
//    we then resend on retry (at-least-once in that window, never zero) with the SAME Message-ID
//    header, so receiving systems can discard the duplicate. A claim younger than the job lock is
//    treated as another live attempt and not touched.

import { Value } from '@sinclair/typebox/value'
import { UnrecoverableError } from 'bullmq'
import { and, desc, eq, lt, sql } from 'drizzle-orm'
import nodemailer, { type Transporter } from 'nodemailer'
import { mailLog } from '../../../db/schema'
import { config } from '../../config'
import { db, sql as pg } from '../../infra/db'
import { counter } from '../../infra/metrics'
import { coalesce } from '../../lib/coalesce'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'
import { NotFoundError } from '../../lib/errors'
import { isUuid, uuidArray } from '../../lib/uuid'
import { getProductsForOrder } from '../catalog/service'
import { getOrder } from '../orders/service'
import { OrderEventPayload } from './model'
import { type EmailKind, renderOrderEmail } from './render'

/** The mailer reads any order, as an admin would. */
const MAILER = { id: 'system:mail', role: 'admin' } as const

const mailSent = counter('mail_messages_total', 'Order emails by transport and outcome', ['transport', 'outcome'])

export type MailRow = typeof mailLog.$inferSelect
export type SendResult = { status: 'sent' | 'logged' | 'duplicate'; mailId: string }

let transporter: Transporter | null = null
function smtp(): Transporter | null {
  if (!config.SMTP_URL) return null
  transporter ??= nodemailer.createTransport(config.SMTP_URL)
  return transporter
}

/**
 * The email is rendered from the event payload when it carries the lines (order.created and
 * order.paid do); otherwise (payment failed, cancelled, refunded) from the committed order's lines
 * and total, through the orders service (they do not change after checkout).
 */
async function orderForEmail(orderId: string, raw: unknown): Promise<OrderEventPayload> {
  if (raw && typeof raw === 'object' && 'items' in raw) {
    if (Value.Check(OrderEventPayload, raw)) return raw as OrderEventPayload
    const first = Value.Errors(OrderEventPayload, raw).First()
    throw new UnrecoverableError(`order event payload is invalid: ${first?.path} ${first?.message}`)
  }
  const order = await getOrder(MAILER, orderId).catch((err) => {
    if (err instanceof NotFoundError) throw new UnrecoverableError(`order ${orderId} does not exist`)
    throw err
  })
  return { userId: order.userId, totalCents: order.totalCents, currency: order.currency, items: order.items }
}

// Run for every order: named prepared statements (parsed and planned once per connection).
const findMail = db
  .select()
  .from(mailLog)
  .where(and(eq(mailLog.orderId, sql.placeholder('orderId')), eq(mailLog.kind, sql.placeholder('kind'))))
  .prepare('mail_find')
/** Recipients of the emails being composed at once (JOBS_CONCURRENCY per worker) share one read. */
const findRecipient = coalesce<string, { email: string; name: string } | undefined>(async (userIds) => {
  // An id that is not a uuid (a malformed event) finds no one; it must not fail the others' read.
  const ids = [...new Set(userIds.filter(isUuid))]
  const rows = await pg<{ id: string; email: string; name: string }[]>`
    select id, email, name from users where id = any(${uuidArray(ids)}::uuid[])`
  const byId = new Map(rows.map((r) => [r.id, r]))
  return userIds.map((id) => byId.get(id))
})

const p = <T>(name: string) => sql.placeholder(name) as unknown as T
const insertMail = db
  .insert(mailLog)
  .values({
    id: p('id'), // $defaultFn would run once, when the statement is prepared
    orderId: p('orderId'),
    kind: p('kind'),
    eventId: p('eventId'),
    toAddress: p('toAddress'),
    subject: p('subject'),
    textBody: p('textBody'),
    htmlBody: p('htmlBody'),
    transport: p('transport'),
    status: p('status'),
    // Drizzle's timestamp encoder cannot take a null placeholder: an ISO string or null, cast here.
    sentAt: sql`${sql.placeholder('sentAt')}::timestamptz`,
    attempts: p('attempts'),
    messageId: p('messageId'),
  })
  .onConflictDoNothing({ target: [mailLog.orderId, mailLog.kind] })
  .returning()
  .prepare('mail_insert')

/** What an email adds to the order's lines, from its event: why a payment failed, until when stock is held. */
function noteOf(kind: EmailKind, raw: unknown): string | undefined {
  const p = (raw && typeof raw === 'object' ? raw : {}) as { reason?: unknown; reservationExpiresAt?: unknown }
  const until = typeof p.reservationExpiresAt === 'string' && !Number.isNaN(Date.parse(p.reservationExpiresAt))
  const held = until ? `Your items are reserved until ${new Date(p.reservationExpiresAt as string).toUTCString()}.` : undefined
  if (kind === 'order_confirmation') return held
  if (kind === 'payment_failed') {
    const reason = typeof p.reason === 'string' && p.reason ? `Reason: ${p.reason.slice(0, 200)}.` : undefined
    return [reason, held].filter(Boolean).join(' ') || undefined
  }
  return undefined
}

async function compose(orderId: string, kind: EmailKind, raw: unknown) {
  const p = await orderForEmail(orderId, raw)
  // The customer account lives in the identity module; read-only lookup of the address.
  const user = await findRecipient(p.userId)
  if (!user) throw new UnrecoverableError(`order ${orderId}: user ${p.userId} does not exist`)
  const products = await getProductsForOrder(
    db,
    p.items.map((i) => i.productId),
  )
  const rendered = renderOrderEmail(kind, {
    orderId,
    customerName: user.name,
    lines: p.items.map((i) => ({ ...i, name: products.get(i.productId)?.name ?? `Product ${i.productId}` })),
    totalCents: p.totalCents,
    currency: p.currency,
    note: noteOf(kind, raw),
  })
  return { to: user.email, ...rendered }
}

const messageIdOf = (orderId: string, kind: EmailKind) => `<${kind}.${orderId}@stampede.local>`

/** Sends (or logs) the `kind` email of an order once, however often it is called. */
export async function sendOrderEmail(input: { orderId: string; kind: EmailKind; payload: unknown; eventId?: string }): Promise<SendResult> {
  const { orderId, kind } = input
  const find = async () => (await findMail.execute({ orderId, kind }))[0]
  const transport = smtp()
  const composed = await compose(orderId, kind, input.payload).then(
    (mail) => ({ mail }),
    (err: unknown) => ({ err }),
  )
  let row: MailRow | undefined
  if ('mail' in composed) {
    const { mail } = composed
    const [inserted] = await insertMail.execute({
      id: Bun.randomUUIDv7(),
      orderId,
      kind,
      eventId: input.eventId ?? null,
      toAddress: mail.to,
      subject: mail.subject,
      textBody: mail.text,
      htmlBody: mail.html,
      transport: transport ? 'smtp' : 'log',
      status: transport ? 'pending' : 'logged',
      sentAt: transport ? null : new Date().toISOString(),
      attempts: transport ? 0 : 1,
      messageId: messageIdOf(orderId, kind),
    })
    if (inserted && !transport) {
      mailSent.inc({ transport: 'log', outcome: 'logged' })
      return { status: 'logged', mailId: inserted.id }
    }
    row = inserted
  }
  if (!row) {
    // A duplicate, or a retry of an SMTP row: go on with the stored message (it needs no composing,
    // so a failure to compose it again does not matter). No row and no message: fail as composing did.
    row = await find()
    if (!row) throw 'err' in composed ? composed.err : new Error(`email ${kind} of order ${orderId} is missing`)
    if (row.status === 'sent' || row.status === 'logged') return { status: 'duplicate', mailId: row.id }
  }
  if (row.transport === 'log' || !transport) {
    // Logged rows are final; an SMTP row without SMTP configured any more waits for it.
    if (row.transport === 'log') return { status: 'duplicate', mailId: row.id }
    throw new Error('SMTP_URL is no longer configured; email stays pending')
  }

  const stale = new Date(Date.now() - config.JOBS_LOCK_DURATION_MS)
  const [claimed] = await db
    .update(mailLog)
    .set({ status: 'sending', claimedAt: new Date(), attempts: row.attempts + 1 })
    .where(
      and(
        eq(mailLog.id, row.id),
        // pending, or a `sending` claim older than a job lock (its worker died mid-send)
        eq(mailLog.status, row.status === 'sending' ? 'sending' : 'pending'),
        row.status === 'sending' ? lt(mailLog.claimedAt, stale) : undefined,
      ),
    )
    .returning()
  if (!claimed) {
    const now = await find()
    if (now && now.status === 'sent') return { status: 'duplicate', mailId: now.id }
    throw new Error(`email ${row.id} is being sent by another attempt; retrying later`)
  }
  try {
    await transport.sendMail({
      from: config.MAIL_FROM,
      to: claimed.toAddress,
      subject: claimed.subject,
      text: claimed.textBody,
      html: claimed.htmlBody,
      messageId: claimed.messageId,
    })
  } catch (err) {
    const e = err as Error & { responseCode?: number }
    await db
      .update(mailLog)
      .set({ status: 'pending', claimedAt: null, lastError: e.message.slice(0, 500) })
      .where(eq(mailLog.id, claimed.id))
    mailSent.inc({ transport: 'smtp', outcome: 'error' })
    // 5xx = permanent rejection (bad recipient): retrying cannot help.
    if (e.responseCode && e.responseCode >= 500) throw new UnrecoverableError(`SMTP rejected the message: ${e.message}`)
    throw err
  }
  await db.update(mailLog).set({ status: 'sent', sentAt: new Date(), claimedAt: null, lastError: null }).where(eq(mailLog.id, claimed.id))
  mailSent.inc({ transport: 'smtp', outcome: 'sent' })
  return { status: 'sent', mailId: claimed.id }
}

export type MailQuery = { limit: number; cursor?: string; orderId?: string; kind?: MailRow['kind'] }

/** Admin listing, newest first; cursor = last id (UUIDv7). */
export async function listMail(q: MailQuery): Promise<Page<MailRow>> {
  const after = decodeIdCursor(q.cursor)
  const rows = await db
    .select()
    .from(mailLog)
    .where(
      and(
        q.orderId ? eq(mailLog.orderId, q.orderId) : undefined,
        q.kind ? eq(mailLog.kind, q.kind) : undefined,
        after ? lt(mailLog.id, after) : undefined,
      ),
    )
    .orderBy(desc(mailLog.id))
    .limit(q.limit + 1)
  return toPage(rows, q.limit, (r) => [r.id])
}

export type OwedEmail = { eventId: string; orderId: string; kind: EmailKind; type: string; payload: Record<string, unknown> }

/** A text[] literal of code constants (event types, kinds): bound as one parameter, cast in SQL. */
const textArray = (xs: readonly string[]) => `{${xs.map((x) => `"${x.replace(/["\\]/g, '')}"`).join(',')}}`

/**
 * Emails that published outbox events call for and that were never delivered: no mail_log row,
 * or one left `pending`/`sending` (its job may have vanished with Redis). Postgres decides what
 * is owed; `kindOf` is the relay's routing (event type → email kind), so new kinds need no change
 * here. Pages by event id (UUIDv7, time-ordered): `after` is the previous page's last id, or an
 * id floor for "events since". `graceMs` leaves freshly published events to their own jobs.
 */
export async function findOwedEmails(q: {
  kindOf: Readonly<Record<string, EmailKind>>
  after: string
  graceMs: number
  limit: number
}): Promise<OwedEmail[]> {
  const types = Object.keys(q.kindOf)
  if (types.length === 0) return []
  return pg<OwedEmail[]>`
    select e.id as "eventId", e.aggregate_id as "orderId", k.kind, e.type, e.payload
    from outbox_events e
    join unnest(${textArray(types)}::text[], ${textArray(types.map((t) => q.kindOf[t] as string))}::text[]) as k(type, kind)
      on k.type = e.type
    where e.id > ${q.after}::uuid
      and e.published_at <= now() - make_interval(secs => ${q.graceMs / 1000})
      and not exists (
        select 1 from mail_log m where m.order_id = e.aggregate_id and m.kind = k.kind and m.status in ('sent', 'logged'))
    order by e.id
    limit ${q.limit}`
}
