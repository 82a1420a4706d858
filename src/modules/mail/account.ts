// Account emails (password reset): not tied to an order, so no outbox event and no job. A reset
// is requested again by the user if its email is lost, and the token must not sit in an outbox
// payload or a queue in clear. The mail_log row is written first, as for order emails: without
// SMTP it is the delivery; with SMTP it is sent at once and marked `sent` (or left `pending` with
// the error: the user asks again).
import { eq } from 'drizzle-orm'
import nodemailer, { type Transporter } from 'nodemailer'
import { mailLog } from '../../../db/schema'
import { config } from '../../config'
import { db } from '../../infra/db'
import { logger } from '../../infra/logger'
import { counter } from '../../infra/metrics'

const accountMail = counter('mail_account_messages_total', 'Account emails (password reset) by outcome', ['outcome'])

let transporter: Transporter | null = null
const smtp = (): Transporter | null => {
  if (!config.SMTP_URL) return null
  transporter ??= nodemailer.createTransport(config.SMTP_URL)
  return transporter
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export function renderPasswordReset(name: string, token: string, ttlMinutes: number) {
  const lead = `Someone (hopefully you) asked to reset the password of your Stampede account. The code below works once, for ${ttlMinutes} minutes.`
  const how = 'Send it with your new password to POST /api/v1/auth/password-reset/confirm { "token", "newPassword" }.'
  const ignore = 'If you did not ask for this, ignore this email: your password stays as it is.'
  return {
    subject: 'Reset your Stampede password',
    text: [`Hello ${name},`, '', lead, '', `  ${token}`, '', how, '', ignore, '', '— Stampede'].join('\n'),
    html:
      `<!doctype html><html><body style="font-family:sans-serif"><p>Hello ${escapeHtml(name)},</p><p>${escapeHtml(lead)}</p>` +
      `<p><code style="font-size:1.2em">${escapeHtml(token)}</code></p><p>${escapeHtml(how)}</p><p>${escapeHtml(ignore)}</p><p>— Stampede</p></body></html>`,
  }
}

/** Sends (or, without SMTP_URL, logs) a password reset email. Never throws: the caller has answered. */
export async function sendPasswordResetEmail(to: { email: string; name: string }, token: string, ttlMinutes: number): Promise<void> {
  const mail = renderPasswordReset(to.name, token, ttlMinutes)
  const transport = smtp()
  const id = Bun.randomUUIDv7()
  try {
    await db.insert(mailLog).values({
      id,
      orderId: null,
      kind: 'password_reset',
      toAddress: to.email,
      subject: mail.subject,
      textBody: mail.text,
      htmlBody: mail.html,
      transport: transport ? 'smtp' : 'log',
      status: transport ? 'sending' : 'logged',
      claimedAt: transport ? new Date() : null,
      sentAt: transport ? null : new Date(),
      attempts: 1,
      messageId: `<password_reset.${id}@stampede.local>`,
    })
    if (!transport) return void accountMail.inc({ outcome: 'logged' })
    await transport.sendMail({ from: config.MAIL_FROM, to: to.email, subject: mail.subject, text: mail.text, html: mail.html })
    await db.update(mailLog).set({ status: 'sent', sentAt: new Date(), claimedAt: null }).where(eq(mailLog.id, id))
    accountMail.inc({ outcome: 'sent' })
  } catch (err) {
    accountMail.inc({ outcome: 'error' })
    logger.warn({ err: (err as Error).message, mailId: id }, 'password reset email not sent')
    await db
      .update(mailLog)
      .set({ status: 'pending', claimedAt: null, lastError: (err as Error).message.slice(0, 500) })
      .where(eq(mailLog.id, id))
      .catch(() => undefined)
  }
}
