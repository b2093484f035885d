import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js'
import {z} from 'zod'
import type {Driver, Receipt, Rendered} from './driver.js'
import {isEmailAddress} from '../core/email-address.js'
import {forRecipient, isUnsubscribeTemplate, messageIdFor, parseMailbox, renderEmail, type EmailPayload} from './email-message.js'
import {PermanentSendError, TransientSendError} from './errors.js'
import {classifySmtpError} from './smtp-failures.js'
import {closeEmailTransports, endpointOf, loadNodemailer, parseSmtpUrl, pooledTransport, smtpUrlMessage, transportOptions, untilAborted} from './smtp-pool.js'

// Email to each subscriber of the channel's audience over SMTP (nodemailer), as multipart text
// + HTML. One pooled SMTP transport per channel per process keeps `maxConnections` connections
// open between messages. SMTP has no idempotency: a resend is recognisable by its stable
// Message-ID (derived from the delivery id) but would arrive twice, so the driver declares
// `idempotent: false` and a send in doubt ends `unknown`, never blindly repeated.
//
// What a message says is email-message.ts (no header can be injected through it); the SMTP
// envelope is set here, explicitly, to the one recipient, so no text can add a recipient.
// The pool is smtp-pool.ts, what its failures mean smtp-failures.ts.

const mailboxMessage = 'expected a mailbox with an address, e.g. "North Wales Police <alerts@northwales.example>"'

// The usual reason a URL does not parse is a password with @ # / or ? in it (from ${SMTP_PASSWORD}):
// the URL then ends, or its host begins, inside the password.
const smtpUrlRefusal = `${smtpUrlMessage} — special characters in the user or password must be percent-encoded (@ as %40, # as %23, / as %2F, ? as %3F, % as %25)`

const emailSettings = z.object({
  /** smtp://user:password@host:port (STARTTLS when offered; required to send credentials off loopback) or smtps:// (TLS from the start, port 465). */
  smtp: z.string().refine((text) => parseSmtpUrl(text) !== undefined, smtpUrlRefusal),
  /** RFC 5322 mailbox: "North Wales Police <alerts@northwales.example>". */
  from: z.string().refine((text) => parseMailbox(text) !== undefined, mailboxMessage),
  /** The subscriber list this channel sends to. */
  audience: z.string().min(1, 'expected the name of a subscriber list'),
  /** SMTP connections kept open at once; most providers allow 5–20 per account. */
  maxConnections: z.number().int().min(1).max(64).default(5),
  replyTo: z.string().refine((text) => parseMailbox(text) !== undefined, mailboxMessage).optional(),
  /** Where a subscriber unsubscribes; `{contact}` becomes their address. Default: a mailto: to `from`. */
  unsubscribeUrl: z
    .string()
    .refine(isUnsubscribeTemplate, 'expected an http(s) or mailto: URL containing {contact}, e.g. https://northwales.example/unsubscribe?email={contact}')
    .optional(),
})
export type EmailSettings = z.infer<typeof emailSettings>


export const email: Driver<EmailSettings, EmailPayload> = {
  type: 'email',
  kind: 'per-recipient',
  config: emailSettings,
  capabilities: {counts: 'characters', threads: false, media: false, idempotent: false, reconcile: false, contact: 'email'},

  render(announcement, variant, context) {
    const payload = renderEmail(announcement, variant, context.channel, context, context.recipient)
    return {
      parts: [
        {label: 'Subject', text: payload.subject},
        {label: 'Text body', text: payload.text},
        {label: 'HTML body', text: payload.html},
      ],
      payload,
    } satisfies Rendered<EmailPayload>
  },

  async send(rendered, context) {
    const {channel} = context
    const payload = forRecipient(rendered, context.announcement, channel, context.recipient)
    if (!payload.recipient) throw new PermanentSendError('no subscriber to send to: email deliveries are per recipient')
    if (!isEmailAddress(payload.to.address)) throw new PermanentSendError(`subscriber ${payload.recipient.id} has no usable email address`)
    if (context.signal.aborted) throw new TransientSendError('request aborted')
    const messageId = messageIdFor(context.deliveryId, payload.from.address)
    const endpoint = endpointOf(channel)
    try {
      const transport = await pooledTransport(channel, endpoint)
      await transport.send(
        {
          from: payload.from,
          to: payload.to,
          replyTo: payload.replyTo,
          subject: payload.subject,
          text: payload.text,
          html: payload.html,
          messageId,
          date: new Date(context.now()),
          headers: payload.headers,
          textEncoding: payload.textEncoding,
          // The envelope is ours, not derived from headers: exactly one recipient, always.
          envelope: {from: payload.from.address, to: [payload.to.address]},
          disableFileAccess: true,
          disableUrlAccess: true,
        },
        context.signal,
      )
    } catch (error) {
      throw classifySmtpError(error, channel, endpoint)
    }
    return {providerId: messageId} satisfies Receipt
  },

  async check(channel, context) {
    const endpoint = endpointOf(channel)
    const where = `SMTP ${endpoint.display}`
    const hasCredentials = Boolean(endpoint.user || endpoint.password)
    try {
      const nodemailer = await loadNodemailer()
      // A one-off connection, not the pool: check must leave nothing open behind it. forceAuth
      // makes a server that offers no AUTH fail the check instead of "accepting" credentials it never saw.
      const transport = nodemailer.createTransport({...transportOptions(channel, endpoint), forceAuth: hasCredentials} as SMTPTransport.Options)
      try {
        await untilAborted(transport.verify(), context.signal)
      } finally {
        transport.close()
      }
      return {ok: true, detail: hasCredentials ? `${where}: credentials accepted` : `${where}: reachable; no credentials configured`}
    } catch (error) {
      return {ok: false, detail: `${where}: ${classifySmtpError(error, channel, endpoint).message}`}
    }
  },

  load: async () => {
    await loadNodemailer()
  },
  close: () => closeEmailTransports(),
}
