// Order emails as text + HTML. Pure functions: the same input renders the same bytes, so a retried
// job re-renders exactly what the first attempt stored.
export type EmailLine = { productId: string; name: string; quantity: number; unitPriceCents: number }

import type { OrderMailKind } from '../../../db/schema'

/** `note`: what this email adds for this order (why a payment failed, until when stock is held). */
export type EmailOrder = { orderId: string; customerName: string; lines: EmailLine[]; totalCents: number; currency: string; note?: string }
export type EmailKind = OrderMailKind
export type RenderedEmail = { subject: string; text: string; html: string }

// Building an Intl.NumberFormat costs far more than formatting with it (it was the worker's top
// cost in a flash sale): one per currency, kept. null = a code Intl does not know.
const formatters = new Map<string, Intl.NumberFormat | null>()

export function formatMoney(cents: number, currency: string): string {
  let f = formatters.get(currency)
  if (f === undefined) {
    try {
      f = new Intl.NumberFormat('en-US', { style: 'currency', currency })
    } catch {
      f = null
    }
    if (formatters.size < 1000) formatters.set(currency, f)
  }
  return f ? f.format(cents / 100) : `${(cents / 100).toFixed(2)} ${currency}`
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

// "Confirmed" only once the order is paid: at checkout the order is received, not yet confirmed.
const COPY: Record<EmailKind, { subject: (id: string) => string; lead: string }> = {
  order_confirmation: {
    subject: (id) => `We received your Stampede order ${id}`,
    lead: 'Thank you for your order. Your items are reserved while we wait for your payment; the order is confirmed once it is paid.',
  },
  payment_receipt: {
    subject: (id) => `Your Stampede order ${id} is confirmed — receipt`,
    lead: 'We received your payment: your order is confirmed. Here is your receipt.',
  },
  payment_failed: {
    subject: (id) => `Payment for your Stampede order ${id} did not go through`,
    lead: 'Your payment did not go through and nothing was charged. Your items are still reserved: pay again with another method, or cancel the order.',
  },
  order_cancelled: {
    subject: (id) => `Your Stampede order ${id} is cancelled`,
    lead: 'Your order is cancelled and its items are released. You have not been charged for it.',
  },
  order_refunded: {
    subject: (id) => `Your Stampede order ${id} is refunded`,
    lead: 'Your order is cancelled and your payment is refunded in full.',
  },
}

export function renderOrderEmail(kind: EmailKind, o: EmailOrder): RenderedEmail {
  const copy = COPY[kind]
  const money = (c: number) => formatMoney(c, o.currency)
  const text = [
    `Hello ${o.customerName},`,
    '',
    copy.lead,
    ...(o.note ? ['', o.note] : []),
    '',
    `Order: ${o.orderId}`,
    '',
    ...o.lines.map((l) => `  ${l.quantity} × ${l.name} @ ${money(l.unitPriceCents)} = ${money(l.quantity * l.unitPriceCents)}`),
    '',
    `Total: ${money(o.totalCents)}`,
    '',
    '— Stampede',
  ].join('\n')
  const rows = o.lines
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.name)}</td><td style="text-align:right">${l.quantity}</td>` +
        `<td style="text-align:right">${escapeHtml(money(l.unitPriceCents))}</td>` +
        `<td style="text-align:right">${escapeHtml(money(l.quantity * l.unitPriceCents))}</td></tr>`,
    )
    .join('')
  const html =
    `<!doctype html><html><body style="font-family:sans-serif">` +
    `<p>Hello ${escapeHtml(o.customerName)},</p><p>${escapeHtml(copy.lead)}</p>` +
    (o.note ? `<p>${escapeHtml(o.note)}</p>` : '') +
    `<p>Order <strong>${escapeHtml(o.orderId)}</strong></p>` +
    `<table cellpadding="4"><thead><tr><th align="left">Item</th><th>Qty</th><th>Price</th><th>Subtotal</th></tr></thead>` +
    `<tbody>${rows}</tbody><tfoot><tr><td colspan="3"><strong>Total</strong></td>` +
    `<td style="text-align:right"><strong>${escapeHtml(money(o.totalCents))}</strong></td></tr></tfoot></table>` +
    `<p>— Stampede</p></body></html>`
  return { subject: copy.subject(o.orderId), text, html }
}
