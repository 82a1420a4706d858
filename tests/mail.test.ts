// Order emails: confirmation on checkout and receipt on payment, rendered (text + escaped HTML),
// logged once per (order, kind) without SMTP, listed for admins.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { mailLog } from '../db/schema'
import { startWorkerSet, type WorkerSet } from '../jobs/worker'
import { db } from '../src/infra/db'
import { formatMoney, renderOrderEmail } from '../src/modules/mail/render'
import { sendOrderEmail } from '../src/modules/mail/service'
import { createUser, req } from './helpers'
import { productWithStock, waitFor } from './jobs-helpers'

let workers: WorkerSet
beforeAll(async () => {
  workers = await startWorkerSet({ queues: ['order-emails', 'payments'], schedules: false, relay: true })
})
afterAll(async () => {
  await workers.close()
})

const mailOf = async (orderId: string, kind: string) =>
  (await db.select().from(mailLog).where(eq(mailLog.orderId, orderId))).find((m) => m.kind === kind)

describe('order emails', () => {
  test('checkout → confirmation, payment → receipt; each exactly once; admins list them', async () => {
    const buyer = await createUser('customer')
    const admin = await createUser('admin')
    const productId = await productWithStock(10, 1, 'Tea <b>&</b> Cup')
    const t0 = Date.now()
    const created = await req('POST', '/api/v1/orders', {
      token: buyer.token,
      body: { items: [{ productId, quantity: 2 }] },
      headers: { 'idempotency-key': `mail-${Bun.randomUUIDv7()}` },
    })
    expect(created.status).toBe(201)
    const orderId = created.body.id as string

    const confirmation = await waitFor('the confirmation', () => mailOf(orderId, 'order_confirmation'))
    expect(confirmation).toMatchObject({ status: 'logged', transport: 'log', toAddress: buyer.email, attempts: 1 })
    // A logged row is its own delivery, stamped when it was written (not when the statement was prepared).
    expect(confirmation.sentAt!.getTime()).toBeGreaterThanOrEqual(t0 - 5)
    expect(confirmation.sentAt!.getTime()).toBeLessThanOrEqual(Date.now())
    expect(confirmation.subject).toBe(`We received your Stampede order ${orderId}`)
    expect(confirmation.textBody).toContain('Your items are reserved until')
    expect(confirmation.textBody).toContain(`Order: ${orderId}`)
    expect(confirmation.textBody).toContain('2 × Tea <b>&</b> Cup @ $12.50 = $25.00')
    expect(confirmation.textBody).toContain('Total: $25.00')
    expect(confirmation.htmlBody).toContain('Tea &#60;b&#62;&#38;&#60;/b&#62; Cup')
    expect(confirmation.htmlBody).not.toContain('<b>')

    const paid = await req('POST', `/api/v1/orders/${orderId}/pay`, {
      token: buyer.token,
      body: { paymentMethod: 'pm_card_ok' },
      headers: { 'idempotency-key': `mail-pay-${Bun.randomUUIDv7()}` },
    })
    expect(paid.status).toBe(202)
    const receipt = await waitFor('the receipt', () => mailOf(orderId, 'payment_receipt'), 20_000)
    expect(receipt.subject).toBe(`Your Stampede order ${orderId} is confirmed — receipt`)
    expect(receipt.textBody).toContain('2 × Tea <b>&</b> Cup')
    expect(receipt.textBody).toContain('Total: $25.00')

    // An event without lines (e.g. an older producer) is rendered from the committed order rows.
    const other = await req('POST', '/api/v1/orders', {
      token: buyer.token,
      body: { items: [{ productId, quantity: 1 }] },
      headers: { 'idempotency-key': `mail-${Bun.randomUUIDv7()}` },
    })
    const fromRows = await sendOrderEmail({ orderId: other.body.id, kind: 'payment_receipt', payload: { userId: buyer.id } })
    expect(fromRows.status).toBe('logged')
    const rendered = await mailOf(other.body.id, 'payment_receipt')
    expect(rendered?.textBody).toContain('1 × Tea <b>&</b> Cup @ $12.50 = $12.50')

    // The same email requested again (job retry or duplicate event) is not sent twice.
    const again = await sendOrderEmail({ orderId, kind: 'order_confirmation', payload: {} })
    expect(again).toEqual({ status: 'duplicate', mailId: confirmation.id })
    // Even when composing it again would fail now (here: a payload naming no real user).
    const stale = await sendOrderEmail({
      orderId,
      kind: 'order_confirmation',
      payload: { userId: Bun.randomUUIDv7(), items: [], totalCents: 0, currency: 'USD' },
    })
    expect(stale).toEqual({ status: 'duplicate', mailId: confirmation.id })
    expect(await db.select().from(mailLog).where(eq(mailLog.orderId, orderId))).toHaveLength(2)

    const list = await req('GET', `/api/v1/admin/mail?orderId=${orderId}`, { token: admin.token })
    expect(list.status).toBe(200)
    expect(list.body.items.map((m: { kind: string }) => m.kind).sort()).toEqual(['order_confirmation', 'payment_receipt'])
    expect(list.body.items[0]).toMatchObject({ orderId, to: buyer.email, status: 'logged' })
    const onlyReceipts = await req('GET', `/api/v1/admin/mail?orderId=${orderId}&kind=payment_receipt&limit=1`, { token: admin.token })
    expect(onlyReceipts.body.items).toHaveLength(1)
    expect(onlyReceipts.body.nextCursor).toBeNull()
  }, 40_000)

  test('the journey: received, payment failed, confirmed, refunded; cancelled — each once, through the outbox', async () => {
    const buyer = await createUser('customer')
    const productId = await productWithStock(10, 1, 'Journey mug')
    const key = () => ({ 'idempotency-key': `mail-${Bun.randomUUIDv7()}` })
    const place = async () =>
      (await req('POST', '/api/v1/orders', { token: buyer.token, body: { items: [{ productId, quantity: 1 }] }, headers: key() })).body
        .id as string
    const payWith = (orderId: string, paymentMethod: string) =>
      req('POST', `/api/v1/orders/${orderId}/pay`, { token: buyer.token, body: { paymentMethod }, headers: key() })
    const statusOf = async (orderId: string) => (await req('GET', `/api/v1/orders/${orderId}`, { token: buyer.token })).body.status

    const orderId = await place()
    await waitFor('received', () => mailOf(orderId, 'order_confirmation'))
    expect((await payWith(orderId, 'pm_card_declined')).status).toBe(202)
    const failed = await waitFor('payment failed', () => mailOf(orderId, 'payment_failed'), 20_000)
    expect(failed.subject).toBe(`Payment for your Stampede order ${orderId} did not go through`)
    expect(failed.textBody).toContain('Reason: charge declined: card_declined.')
    expect(failed.textBody).toContain('Your items are reserved until')
    expect(failed.textBody).toContain('1 × Journey mug')
    // No "confirmed" email for an unpaid order.
    expect(await mailOf(orderId, 'payment_receipt')).toBeUndefined()

    expect((await payWith(orderId, 'pm_card_ok')).status).toBe(202)
    const confirmed = await waitFor('confirmed', () => mailOf(orderId, 'payment_receipt'), 20_000)
    expect(confirmed.subject).toContain('is confirmed')
    expect(await statusOf(orderId)).toBe('paid')
    expect((await req('POST', `/api/v1/orders/${orderId}/cancel`, { token: buyer.token })).body.status).toBe('refunded')
    const refunded = await waitFor('refunded', () => mailOf(orderId, 'order_refunded'), 20_000)
    expect(refunded.subject).toBe(`Your Stampede order ${orderId} is refunded`)
    expect(refunded.textBody).toContain('Total: $12.50')

    const other = await place()
    expect((await req('POST', `/api/v1/orders/${other}/cancel`, { token: buyer.token })).body.status).toBe('cancelled')
    const cancelled = await waitFor('cancelled', () => mailOf(other, 'order_cancelled'), 20_000)
    expect(cancelled.subject).toBe(`Your Stampede order ${other} is cancelled`)

    // Exactly once per (order, kind), even when the job runs again.
    expect(await sendOrderEmail({ orderId, kind: 'payment_failed', payload: {} })).toEqual({ status: 'duplicate', mailId: failed.id })
    const kinds = async (id: string) => (await db.select().from(mailLog).where(eq(mailLog.orderId, id))).map((m) => m.kind).sort()
    expect(await kinds(orderId)).toEqual(['order_confirmation', 'order_refunded', 'payment_failed', 'payment_receipt'])
    expect(await kinds(other)).toEqual(['order_cancelled', 'order_confirmation'])
  }, 60_000)

  test('admin only; bad queries are 422 naming the field', async () => {
    const customer = await createUser('customer')
    const admin = await createUser('admin')
    expect((await req('GET', '/api/v1/admin/mail')).status).toBe(401)
    expect((await req('GET', '/api/v1/admin/mail', { token: customer.token })).status).toBe(403)
    for (const [query, field] of [
      ['kind=spam', 'kind'],
      ['limit=0', 'limit'],
      ['limit=x', 'limit'],
      ['orderId=123', 'orderId'],
      ['cursor=zzz', 'cursor'],
    ]) {
      const r = await req('GET', `/api/v1/admin/mail?${query}`, { token: admin.token })
      expect(r.status).toBe(422)
      expect(r.body.errors[0].field).toContain(field!)
    }
  })

  test('bad event data fails permanently instead of retrying', async () => {
    const bad = sendOrderEmail({ orderId: Bun.randomUUIDv7(), kind: 'order_confirmation', payload: { items: [], userId: 'x' } })
    await expect(bad).rejects.toThrow(/payload is invalid/)
    await expect(bad.catch((e) => e.name)).resolves.toBe('UnrecoverableError')
    const missing = sendOrderEmail({ orderId: Bun.randomUUIDv7(), kind: 'payment_receipt', payload: {} })
    await expect(missing).rejects.toThrow(/does not exist/)
  })

  test('emails composed together share the recipients read; a malformed user id fails only its own email', async () => {
    const buyer = await createUser('customer')
    const productId = await productWithStock(10, 2, 'Shared read')
    const line = { productId, quantity: 1, unitPriceCents: 1250 }
    const payload = (userId: string) => ({ userId, items: [line], totalCents: 1250, currency: 'USD' })
    const [good, bad] = await Promise.allSettled([
      sendOrderEmail({ orderId: Bun.randomUUIDv7(), kind: 'order_confirmation', payload: payload(buyer.id) }),
      sendOrderEmail({ orderId: Bun.randomUUIDv7(), kind: 'order_confirmation', payload: payload('not-a-uuid') }),
    ])
    expect(good).toMatchObject({ status: 'fulfilled', value: { status: 'logged' } })
    expect(bad.status).toBe('rejected')
    expect(String((bad as PromiseRejectedResult).reason)).toMatch(/does not exist/)
  })

  test('rendering: money per currency, lines and total', () => {
    const r = renderOrderEmail('order_confirmation', {
      orderId: 'o-1',
      customerName: 'Ada',
      lines: [
        { productId: 'a', name: 'Pen', quantity: 3, unitPriceCents: 199 },
        { productId: 'b', name: 'Ink', quantity: 1, unitPriceCents: 1000 },
      ],
      totalCents: 1597,
      currency: 'EUR',
    })
    expect(r.text).toContain('3 × Pen @ €1.99 = €5.97')
    expect(r.text).toContain('Total: €15.97')
    expect(r.html).toContain('<td>Ink</td>')
    // At checkout the order is received; "confirmed" is for a paid order.
    expect(r.subject).toBe('We received your Stampede order o-1')
    expect(
      renderOrderEmail('payment_receipt', { orderId: 'o-1', customerName: 'Ada', lines: [], totalCents: 0, currency: 'EUR' }).subject,
    ).toBe('Your Stampede order o-1 is confirmed — receipt')
  })

  test('money: formatters are kept per currency, and a code Intl refuses still renders', () => {
    for (let i = 0; i < 2; i++) {
      // Twice: the second call goes through the kept formatter (or the kept refusal).
      expect(formatMoney(123456, 'USD')).toBe('$1,234.56')
      expect(formatMoney(250, 'JPY')).toBe('¥3')
      expect(formatMoney(199, 'EUR')).toBe('€1.99')
      expect(formatMoney(199, 'E1')).toBe('1.99 E1')
    }
  })
})
