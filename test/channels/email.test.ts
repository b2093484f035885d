import {createServer, type AddressInfo, type Socket} from 'node:net'
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'
import type {Announcement} from '../../src/core/announcement.js'
import {channelCommonSchema} from '../../src/config/schema.js'
import {rememberSecret} from '../../src/config/secrets.js'
import type {ChannelConfig, Recipient, SendContext} from '../../src/channels/driver.js'
import {email, type EmailSettings} from '../../src/channels/email.js'
import {forRecipient, preferredTextEncoding} from '../../src/channels/email-message.js'
import {closeEmailTransports} from '../../src/channels/smtp-pool.js'
import {ChannelUnusableError, InDoubtSendError, PermanentSendError, TransientSendError} from '../../src/channels/errors.js'
import type {HttpClient} from '../../src/channels/http.js'
import {makeAnnouncement, makeFullAnnouncement} from '../helpers/announcement.js'
import {closedSmtpUrl, startSmtpFake, type SmtpFake, type SmtpFakeOptions} from '../fakes/smtp-server.js'
import {partsInMemory} from '../helpers/thread-parts.js'

// The email driver against a real SMTP server (smtp-server) on loopback, through nodemailer's pool.

const fromMailbox = 'North Wales Police <alerts@northwales.example>'
const jane: Recipient = {id: '42', name: 'Jane Jones', email: 'jane@example.com'}
const fixedNow = Date.parse('2024-05-09T09:31:00Z')
/** Email never uses the HTTP client; the contract requires one in the context. */
const noHttp = {} as HttpClient

let fake: SmtpFake

beforeEach(async () => {
  fake = await startSmtpFake()
})
afterEach(async () => {
  await closeEmailTransports()
  await fake.close()
})

/** Validated exactly as the config loader does: common settings plus the driver's own. */
function makeChannel(settings: Record<string, unknown> = {}): ChannelConfig<EmailSettings> {
  const parsed = channelCommonSchema
    .extend(email.config.shape)
    .strict()
    .parse({type: 'email', smtp: fake.url(), from: fromMailbox, audience: 'residents', ...settings})
  return {...parsed, name: 'residents-email'} as ChannelConfig<EmailSettings>
}

function makeContext(channel: ChannelConfig<EmailSettings>, announcement: Announcement, overrides: Partial<SendContext<EmailSettings>> = {}): SendContext<EmailSettings> {
  return {
    channel,
    deliveryId: '01HXDELIVERY0000000000000A',
    idempotencyKey: '01HXDELIVERY0000000000000A',
    announcement,
    signal: new AbortController().signal,
    ...partsInMemory(),
    http: noHttp,
    now: () => fixedNow,
    recipient: jane,
    ...overrides,
  }
}

/** Renders for Jane and sends as the engine does. */
async function renderAndSend(announcement: Announcement, settings: Record<string, unknown> = {}, overrides: Partial<SendContext<EmailSettings>> = {}) {
  const channel = makeChannel(settings)
  const recipient = overrides.recipient ?? jane
  const rendered = email.render(announcement, announcement.variants[0]!, {channel, recipient})
  const receipt = await email.send(rendered.payload, makeContext(channel, announcement, {recipient, ...overrides}))
  return {rendered, receipt}
}

/** The fake again, now wanting the login crier / "correct horse battery". */
async function requireLogin(options: Omit<SmtpFakeOptions, 'users'> = {}): Promise<void> {
  await fake.close()
  fake = await startSmtpFake({users: {crier: 'correct horse battery'}, ...options})
}

/** Renders for resident `index` (resident<index>@example.com) and sends as delivery d-<index>. */
function sendToResident(channel: ChannelConfig<EmailSettings>, announcement: Announcement, index: number) {
  const recipient: Recipient = {id: String(index), email: `resident${index}@example.com`}
  const {payload} = email.render(announcement, announcement.variants[0]!, {channel, recipient})
  return email.send(payload, makeContext(channel, announcement, {recipient, deliveryId: `d-${index}`}))
}

async function sendExpectingError(settings: Record<string, unknown> = {}, overrides: Partial<SendContext<EmailSettings>> = {}): Promise<Error> {
  const error = await renderAndSend(makeFullAnnouncement(), settings, overrides).then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof Error)) throw new Error('expected send to throw')
  return error
}

describe('email render', () => {
  it('gives the expiry in the configured time zone, as the officer typed it (BST in summer)', () => {
    const announcement = makeFullAnnouncement()
    const channel = makeChannel({smtp: 'smtp://mail.example:587'})
    const {payload} = email.render(announcement, announcement.variants[0]!, {channel, recipient: jane, timeZone: 'Europe/London'})
    expect(payload.text).toContain('\nExpires: 9 May 2024, 16:30 BST\n')
    expect(payload.html).toContain('<li><strong>Expires:</strong> 9 May 2024, 16:30 BST</li>')
    // Rendered again for another recipient at send time: the zone travels with the payload.
    expect(forRecipient(payload, announcement, channel, {...jane, id: '99', email: 'other@example.com'}).text).toContain('Expires: 9 May 2024, 16:30 BST')
  })

  it('shows the severity in the subject and the whole alert in the text and HTML bodies', () => {
    const announcement = makeFullAnnouncement()
    const channel = makeChannel({smtp: 'smtp://mail.example:587'})
    const {parts, payload} = email.render(announcement, announcement.variants[0]!, {channel, recipient: jane, capUrl: 'https://northwales.example/cap/1.xml'})

    expect(parts.map((part) => part.label)).toEqual(['Subject', 'Text body', 'HTML body'])
    expect(payload.subject).toBe('[Severe] Flood warning: River Conwy "severe" 🌊')
    expect(parts[0]!.text).toBe(payload.subject)
    expect(payload.text).toBe(
      [
        'Flood warning: River Conwy "severe" 🌊',
        'Severe · Flooding',
        '',
        "Water levels < 1m from the top of the defences & rising. Don't drive through flood water.",
        '',
        'What to do:',
        'Move to higher ground now. Call 999 if you are in danger.',
        '',
        'Area: Conwy & Llanrwst <riverside>',
        'Expires: 9 May 2024, 15:30 UTC',
        'More information: https://northwales.example/alerts/flood?area=conwy&lang=en',
        'CAP alert: https://northwales.example/cap/1.xml',
        '',
        '-- ',
        'Sent by North Wales Police to jane@example.com.',
        'To unsubscribe, email alerts@northwales.example with the subject "unsubscribe".',
      ].join('\n'),
    )
    expect(payload.html).toContain('<html lang="en-GB">')
    expect(payload.html).toContain('Water levels &lt; 1m from the top of the defences &amp; rising. Don&#39;t drive')
    expect(payload.html).toContain('Move to higher ground now.')
    expect(payload.html).toContain('<a href="https://northwales.example/alerts/flood?area=conwy&amp;lang=en">')
    expect(payload.html).toContain('Conwy &amp; Llanrwst &lt;riverside&gt;')
    expect(payload.html).toContain('<a href="https://northwales.example/cap/1.xml">')
    expect(payload.html).toContain('<a href="mailto:alerts@northwales.example?subject=unsubscribe">')
    expect(payload.to).toEqual({name: 'Jane Jones', address: 'jane@example.com'})
    expect(payload.from).toEqual({name: 'North Wales Police', address: 'alerts@northwales.example'})
    expect(payload.headers).toEqual({'List-Unsubscribe': '<mailto:alerts@northwales.example?subject=unsubscribe>', 'Auto-Submitted': 'auto-generated'})
  })

  it('renders the same payload for the same input, without touching the network', () => {
    const announcement = makeFullAnnouncement()
    // Nothing listens on this address: a render that tried to connect would fail or hang.
    const channel = makeChannel({smtp: 'smtp://user:pw@203.0.113.1:2525'})
    const first = email.render(announcement, announcement.variants[1]!, {channel, recipient: jane})
    const second = email.render(structuredClone(announcement), announcement.variants[1]!, {channel, recipient: {...jane}})
    expect(second).toEqual(first)
    expect(first.payload.language).toBe('cy-GB')
    expect(first.payload.subject).toBe('[Severe] Rhybudd llifogydd: Afon Conwy "difrifol" 🌊')
  })

  it('uses a placeholder recipient for preview, and leaves the payload without a subscriber', () => {
    const announcement = makeAnnouncement()
    const {payload} = email.render(announcement, announcement.variants[0]!, {channel: makeChannel()})
    expect(payload.to).toEqual({name: '', address: 'resident@example.invalid'})
    expect(payload.text).toContain('Sent by North Wales Police to resident@example.invalid.')
    expect(payload.recipient).toBeUndefined()
  })

  it('marks an exercise, an update and a cancellation in the subject', () => {
    const channel = makeChannel()
    const subject = (overrides: Partial<Announcement>) => {
      const announcement = makeAnnouncement(overrides)
      return email.render(announcement, announcement.variants[0]!, {channel, recipient: jane}).payload.subject
    }
    expect(subject({})).toBe('[Minor] A55 closed at Junction 11')
    expect(subject({status: 'Exercise', severity: 'Extreme'})).toBe('[EXERCISE] [Extreme] A55 closed at Junction 11')
    expect(subject({msgType: 'Update'})).toBe('[Minor] Update: A55 closed at Junction 11')
    expect(subject({msgType: 'Cancel'})).toBe('Cancelled: A55 closed at Junction 11')
    expect(subject({severity: 'Unknown'})).toBe('[Alert] A55 closed at Junction 11')
  })

  it('a Cancel raises no alarm: its body says Cancelled where the severity goes, not in red', () => {
    const channel = makeChannel()
    const cancel = makeAnnouncement({msgType: 'Cancel', severity: 'Extreme', variants: [{language: 'en-GB', headline: 'Cancelled: Flooding now: Llanrwst', description: 'The flood water has receded.'}]})
    const {payload} = email.render(cancel, cancel.variants[0]!, {channel, recipient: jane})
    expect(payload.subject).toBe('Cancelled: Flooding now: Llanrwst')
    expect(payload.text).not.toContain('Extreme')
    expect(payload.text).toContain('\nCancelled · ')
    expect(payload.html).not.toContain('Extreme')
    expect(payload.html).not.toContain('#b00020')
  })

  it('says "Cancelled:" or "Update:" once when the headline says it already (a Cancel crier drafts is "Cancelled: …")', () => {
    const channel = makeChannel()
    const subject = (overrides: Partial<Announcement>, headline: string) => {
      const announcement = makeAnnouncement({...overrides, variants: [{language: 'en-GB', headline, description: 'The road is open again.'}]})
      return email.render(announcement, announcement.variants[0]!, {channel, recipient: jane}).payload.subject
    }
    expect(subject({msgType: 'Cancel'}, 'Cancelled: A55 closed at Junction 11')).toBe('Cancelled: A55 closed at Junction 11')
    expect(subject({msgType: 'Cancel'}, 'Canceled: A55 closure')).toBe('Canceled: A55 closure')
    expect(subject({msgType: 'Update'}, 'Update: A55 reopened')).toBe('[Minor] Update: A55 reopened')
    // Only a lead at the start counts.
    expect(subject({msgType: 'Cancel'}, 'Fireworks cancelled: Conwy')).toBe('Cancelled: Fireworks cancelled: Conwy')
  })

  it('puts the subscriber in an https unsubscribe URL and offers one-click unsubscribe', () => {
    const announcement = makeAnnouncement()
    const channel = makeChannel({unsubscribeUrl: 'https://northwales.example/unsubscribe?email={contact}'})
    const {payload} = email.render(announcement, announcement.variants[0]!, {channel, recipient: {...jane, email: 'jane+alerts@example.com'}})
    const url = 'https://northwales.example/unsubscribe?email=jane%2Balerts%40example.com'
    expect(payload.headers['List-Unsubscribe']).toBe(`<${url}>`)
    expect(payload.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click')
    expect(payload.text).toContain(`To unsubscribe: ${url}`)
    expect(payload.html).toContain(`<a href="${url}">`)
  })

  it('does not offer one-click unsubscribe for a plain http URL', () => {
    const announcement = makeAnnouncement()
    const channel = makeChannel({unsubscribeUrl: 'http://intranet.example/unsubscribe/{contact}'})
    const {payload} = email.render(announcement, announcement.variants[0]!, {channel, recipient: jane})
    expect(payload.headers['List-Unsubscribe']).toBe('<http://intranet.example/unsubscribe/jane%40example.com>')
    expect(payload.headers).not.toHaveProperty('List-Unsubscribe-Post')
  })

  it('keeps a javascript: web address inert in the HTML', () => {
    const announcement = makeAnnouncement({web: 'javascript:alert(1)'})
    const {payload} = email.render(announcement, announcement.variants[0]!, {channel: makeChannel(), recipient: jane})
    expect(payload.html).not.toContain('href="javascript')
    expect(payload.html).toContain('javascript:alert(1)')
  })

  it('turns CR, LF and other control characters in header fields into spaces', () => {
    const announcement = makeAnnouncement({
      variants: [{language: 'en-GB', headline: 'Flooding\r\nBcc: victim@example.com\u0000\u001b[2J', description: 'Stay in.'}],
    })
    const channel = makeChannel({from: 'Police\r\nBcc: victim@example.com <alerts@northwales.example>', replyTo: 'Desk\nCc: x@example.com <desk@northwales.example>'})
    const {payload} = email.render(announcement, announcement.variants[0]!, {channel, recipient: {...jane, name: 'Jane\r\nBcc: victim@example.com'}})
    for (const value of [payload.subject, payload.from.name, payload.to.name, payload.replyTo!.name, ...Object.values(payload.headers)]) {
      expect(value).not.toMatch(/[\u0000-\u001f\u007f]/)
    }
    expect(payload.subject).toBe('[Minor] Flooding Bcc: victim@example.com [2J')
    expect(payload.from).toEqual({name: 'Police Bcc: victim@example.com', address: 'alerts@northwales.example'})
  })
})

describe('email text encoding', () => {
  it("chooses as nodemailer's own rule does: quoted-printable for Latin text, base64 where other characters outnumber letters", async () => {
    const {default: MimeNode} = (await import('nodemailer/lib/mime-node/index.js')) as unknown as {default: new () => {_getTextEncoding(text: string): 'Q' | 'B'}}
    const texts = [
      'Flood warning: move to higher ground now.',
      'Rhybudd llifogydd: symudwch i dir uwch nawr. Ffoniwch 999.',
      'Προειδοποίηση πλημμύρας: μετακινηθείτε σε υψηλότερο έδαφος.',
      '洪水警報：高台に避難してください。',
      'تحذير من الفيضانات Flood',
      'ok \u0001\u0002\u0003\u0004\u0005',
      '',
    ]
    for (const text of texts) {
      const theirs = new MimeNode()._getTextEncoding(text)
      expect([text, preferredTextEncoding(text)]).toEqual([text, theirs === 'Q' ? 'quoted-printable' : 'base64'])
    }
  })

  // The footer (sender, address, unsubscribe) is Latin: a Greek alert needs a few sentences to outweigh it.
  it('sends a Greek alert base64-encoded and an English one quoted-printable, both arriving as rendered', async () => {
    const greek = makeAnnouncement({
      variants: [{language: 'el', headline: 'Προειδοποίηση πλημμύρας', description: 'Μετακινηθείτε αμέσως σε υψηλότερο έδαφος. Μην οδηγείτε μέσα από νερά πλημμύρας, είναι επικίνδυνο. '.repeat(4)}],
    })
    const sentGreek = await renderAndSend(greek)
    expect(sentGreek.rendered.payload.textEncoding).toBe('base64')
    const sentEnglish = await renderAndSend(makeFullAnnouncement())
    expect(sentEnglish.rendered.payload.textEncoding).toBe('quoted-printable')

    const [greekMessage, englishMessage] = fake.messages
    expect(greekMessage!.raw).toMatch(/Content-Transfer-Encoding: base64/i)
    expect(greekMessage!.raw).not.toMatch(/Content-Transfer-Encoding: quoted-printable/i)
    expect(greekMessage!.header('subject')).toBe(sentGreek.rendered.payload.subject)
    expect(greekMessage!.text!.trimEnd()).toBe(sentGreek.rendered.payload.text)
    expect(englishMessage!.raw).toMatch(/Content-Transfer-Encoding: quoted-printable/i)
    expect(englishMessage!.raw).not.toMatch(/Content-Transfer-Encoding: base64/i)
    expect(englishMessage!.html!.trimEnd()).toBe(sentEnglish.rendered.payload.html)
  })
})

describe('email send', () => {
  it('delivers multipart text and HTML with the From, To, subject, Message-ID and List-Unsubscribe', async () => {
    const announcement = makeFullAnnouncement()
    const {rendered, receipt} = await renderAndSend(announcement, {unsubscribeUrl: 'https://northwales.example/unsubscribe?email={contact}'})

    expect(fake.messages).toHaveLength(1)
    const message = fake.messages[0]!
    expect(message.from).toBe('alerts@northwales.example')
    expect(message.to).toEqual(['jane@example.com'])
    expect(message.header('from')).toBe('North Wales Police <alerts@northwales.example>')
    expect(message.header('to')).toBe('Jane Jones <jane@example.com>')
    expect(message.header('subject')).toBe('[Severe] Flood warning: River Conwy "severe" 🌊')
    expect(message.header('message-id')).toBe('<01HXDELIVERY0000000000000A@crier.northwales.example>')
    expect(message.header('list-unsubscribe')).toBe('<https://northwales.example/unsubscribe?email=jane%40example.com>')
    expect(message.header('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click')
    expect(message.header('auto-submitted')).toBe('auto-generated')
    expect(message.header('content-type')).toMatch(/^multipart\/alternative;/)
    expect(message.text).toContain("Water levels < 1m from the top of the defences & rising. Don't drive through flood water.")
    expect(message.text).toContain('Move to higher ground now. Call 999 if you are in danger.')
    expect(message.text).toContain('More information: https://northwales.example/alerts/flood?area=conwy&lang=en')
    expect(message.html).toContain('Water levels &lt; 1m from the top of the defences &amp; rising.')
    expect(message.html).toContain('<a href="https://northwales.example/alerts/flood?area=conwy&amp;lang=en">')
    expect(receipt).toEqual({providerId: '<01HXDELIVERY0000000000000A@crier.northwales.example>'})

    // What preview shows is what arrived.
    expect(message.header('subject')).toBe(rendered.payload.subject)
    expect(message.text!.trimEnd()).toBe(rendered.payload.text)
    expect(message.html!.trimEnd()).toBe(rendered.payload.html)
  })

  it('gives the same delivery the same Message-ID on every attempt, and another delivery another', async () => {
    const announcement = makeAnnouncement()
    const first = await renderAndSend(announcement, {}, {deliveryId: 'd-7'})
    const again = await renderAndSend(announcement, {}, {deliveryId: 'd-7'})
    const other = await renderAndSend(announcement, {}, {deliveryId: 'd-8'})
    expect(fake.messages.map((message) => message.header('message-id'))).toEqual([
      '<d-7@crier.northwales.example>',
      '<d-7@crier.northwales.example>',
      '<d-8@crier.northwales.example>',
    ])
    expect(again.receipt.providerId).toBe(first.receipt.providerId)
    expect(other.receipt.providerId).not.toBe(first.receipt.providerId)
  })

  it('escapes markup from the announcement in the HTML it delivers', async () => {
    const announcement = makeAnnouncement({
      variants: [{language: 'en-GB', headline: 'Test <b>bold</b>', description: 'Hello <script>alert("x")</script> & bye', instruction: '<img src=x onerror=alert(1)>'}],
    })
    await renderAndSend(announcement)
    const {html, text} = fake.messages[0]!
    expect(html).not.toContain('<script>')
    expect(html).not.toContain('<img')
    expect(html).not.toContain('<b>')
    expect(html).toContain('Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; bye')
    expect(text).toContain('Hello <script>alert("x")</script> & bye')
  })

  it('cannot be made to add a header or a recipient through the headline, names or sender', async () => {
    const announcement = makeAnnouncement({
      variants: [{language: 'en-GB', headline: 'Flooding\r\nBcc: victim@example.com', description: 'Stay in.\r\nBcc: victim2@example.com'}],
    })
    await renderAndSend(
      announcement,
      {from: 'Police\r\nBcc: victim3@example.com <alerts@northwales.example>', replyTo: 'Desk\r\nCc: victim4@example.com <desk@northwales.example>'},
      {recipient: {...jane, name: 'Jane\r\nBcc: victim5@example.com'}},
    )

    expect(fake.messages).toHaveLength(1)
    const message = fake.messages[0]!
    expect(message.to).toEqual(['jane@example.com'])
    expect(message.headers).not.toHaveProperty('bcc')
    expect(message.headers).not.toHaveProperty('cc')
    const head = message.raw.slice(0, message.raw.indexOf('\r\n\r\n'))
    expect(head).not.toMatch(/^(bcc|cc):/im)
    expect(message.header('subject')).toBe('[Minor] Flooding Bcc: victim@example.com')
    expect(message.header('reply-to')).toMatch(/<desk@northwales\.example>$/)
    expect(message.headers['reply-to']).toHaveLength(1)
  })

  it('refuses a recipient address with a line break in it, sending nothing', async () => {
    const error = await sendExpectingError({}, {recipient: {id: '9', email: 'jane@example.com\r\nBcc: victim@example.com'}})
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe('subscriber 9 has no usable email address')
    expect(fake.messages).toHaveLength(0)
  })

  it('refuses, rather than cleans, an address with a control character in it: its opt-out holds the address as stored', async () => {
    // Stripped of its DEL, this would go to jane@example.com, whose opt-out it would not have matched.
    for (const address of ['jane@example.com\u007f', 'ja\u0007ne@example.com', 'jane\u200b@example.com']) {
      const error = await sendExpectingError({}, {recipient: {id: '9', email: address}})
      expect(error).toBeInstanceOf(PermanentSendError)
      expect(error.message).toBe('subscriber 9 has no usable email address')
    }
    expect(fake.messages).toHaveLength(0)
  })

  it('sends to the subscriber in the context when the payload was rendered for preview', async () => {
    const announcement = makeAnnouncement()
    const channel = makeChannel()
    const preview = email.render(announcement, announcement.variants[0]!, {channel})
    await email.send(preview.payload, makeContext(channel, announcement, {recipient: jane}))

    expect(fake.messages[0]!.to).toEqual(['jane@example.com'])
    expect(fake.messages[0]!.text).toContain('Sent by North Wales Police to jane@example.com.')
    const forJane = email.render(announcement, announcement.variants[0]!, {channel, recipient: jane})
    expect(fake.messages[0]!.text!.trimEnd()).toBe(forJane.payload.text)
  })

  it('never sends to the preview placeholder', async () => {
    const announcement = makeAnnouncement()
    const channel = makeChannel()
    const preview = email.render(announcement, announcement.variants[0]!, {channel})
    const error = await email.send(preview.payload, makeContext(channel, announcement, {recipient: undefined})).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(fake.offers).toHaveLength(0)
  })

  it('sends nothing when the engine has already aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const error = await sendExpectingError({}, {signal: controller.signal})
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error.message).toBe('request aborted')
    expect(fake.connectionsOpened).toBe(0)
  })

  it.each([421, 451])('treats an SMTP %i reply as transient', async (code) => {
    fake.answer(() => ({reply: code, text: 'Greylisted, please try again later'}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error.message).toBe(`message refused: ${code} Greylisted, please try again later`)
    expect(fake.messages).toHaveLength(0)
  })

  it('treats a 550 after the message as permanent, with the server text', async () => {
    fake.answer(() => ({reply: 550, text: 'Message rejected as spam'}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe('message refused: 550 Message rejected as spam')
  })

  it('treats a 550 for the recipient as permanent, naming the step', async () => {
    fake.answer((offer) => (offer.to.includes('jane@example.com') ? {reply: 550, text: 'No such user here', at: 'rcpt'} : {accept: true}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(PermanentSendError)
    expect(error.message).toBe('recipient refused: 550 No such user here')
  })

  it('sends the next message on a fresh connection after a failure', async () => {
    fake.answer((offer) => (offer.index === 0 ? {reply: 451} : {accept: true}))
    expect(await sendExpectingError()).toBeInstanceOf(TransientSendError)
    await renderAndSend(makeAnnouncement())
    expect(fake.messages.map((message) => message.index)).toEqual([1])
  })

  it('treats a connection dropped after the whole message went as in doubt: it may have arrived, so it is not sent again', async () => {
    fake.answer(() => ({drop: true}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(InDoubtSendError)
    expect(error.message).toBe('connection closed unexpectedly after the whole message was sent — it may have arrived; not sent again')
    expect(fake.offers).toHaveLength(1)
  })

  it('treats a connection dropped before the message went (at RCPT) as transient: nothing can have arrived', async () => {
    fake.answer(() => ({drop: true, at: 'rcpt'}))
    const error = await sendExpectingError()
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error).not.toBeInstanceOf(InDoubtSendError)
    expect(error.message).toBe('connection closed unexpectedly')
  })

  it('treats a refused connection as transient', async () => {
    const error = await sendExpectingError({smtp: await closedSmtpUrl()})
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error.message).toBe('connection refused')
  })

  it('gives up on a server that takes the whole message and never answers, in doubt: the classic SMTP duplicate', async () => {
    fake.answer(() => ({stall: true}))
    const error = await sendExpectingError({timeout: '300ms'})
    expect(error).toBeInstanceOf(InDoubtSendError)
    expect(error.message).toBe('timed out after 300 ms after the whole message was sent — it may have arrived; not sent again')
  })

  it('gives up on a server that stops answering before the message (at RCPT), as transient', async () => {
    fake.answer(() => ({stall: true, at: 'rcpt'}))
    const error = await sendExpectingError({timeout: '300ms'})
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error).not.toBeInstanceOf(InDoubtSendError)
    expect(error.message).toBe('timed out after 300 ms')
  })

  it('gives up on a server that never sends its greeting, as transient', async () => {
    const accepted = new Set<Socket>()
    const silent = createServer((socket) => {
      accepted.add(socket)
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()))
    try {
      const {port} = silent.address() as AddressInfo
      const error = await sendExpectingError({smtp: `smtp://127.0.0.1:${port}`, timeout: '300ms'})
      expect(error).toBeInstanceOf(TransientSendError)
      expect(error.message).toBe('timed out after 300 ms')
    } finally {
      for (const socket of accepted) socket.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })

  it('keeps its pool usable after connections fail: no slot is lost to a refused or dropped connection', async () => {
    const refused = {smtp: await closedSmtpUrl(), maxConnections: 1}
    for (let attempt = 0; attempt < 3; attempt++) expect(await sendExpectingError(refused)).toBeInstanceOf(TransientSendError)

    fake.answer((offer) => (offer.index < 2 ? {drop: true} : {accept: true}))
    expect(await sendExpectingError({maxConnections: 1})).toBeInstanceOf(TransientSendError)
    expect(await sendExpectingError({maxConnections: 1})).toBeInstanceOf(TransientSendError)
    await renderAndSend(makeAnnouncement(), {maxConnections: 1})
    expect(fake.messages.map((message) => message.index)).toEqual([2])
  })

  it('lets a send waiting for a free connection be aborted without it ever going out', async () => {
    fake.answer((offer) => (offer.index === 0 ? {stall: true} : {accept: true}))
    const settings = {maxConnections: 1, timeout: '500ms'}
    const stalled = sendExpectingError(settings, {deliveryId: 'first'})
    await vi.waitFor(() => expect(fake.offers).toHaveLength(1))
    const controller = new AbortController()
    const waiting = sendExpectingError(settings, {deliveryId: 'second', signal: controller.signal})
    controller.abort()
    const error = await waiting
    expect(error).toBeInstanceOf(TransientSendError)
    expect(error.message).toBe('request aborted')
    expect(await stalled).toBeInstanceOf(TransientSendError)
    // Give a leaked send every chance to arrive.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(fake.offers.map((offer) => offer.index)).toEqual([0])
    expect(fake.messages).toHaveLength(0)
  })

  it('logs in with the credentials in the URL', async () => {
    await requireLogin()
    await renderAndSend(makeAnnouncement(), {smtp: fake.url('crier', 'correct horse battery')})
    expect(fake.messages[0]!.user).toBe('crier')
  })

  it('treats a server that wants a login the URL does not give (530) as the channel being unusable', async () => {
    await requireLogin()
    const error = await sendExpectingError({smtp: fake.url()})
    expect(error).toBeInstanceOf(ChannelUnusableError)
    expect(error.message).toMatch(/^the SMTP server requires a login: 530 .* — put the user and password in the smtp URL$/)
  })

  it('treats refused credentials as the channel being unusable, and never repeats the password', async () => {
    const password = 'wrong-horse-battery-staple'
    await requireLogin({authFailureText: (user, pass) => `Authentication failed for ${user} with password ${pass}`})
    const error = await sendExpectingError({smtp: fake.url('crier', password)})
    expect(error).toBeInstanceOf(ChannelUnusableError)
    expect(error.message).toBe('credentials refused by the SMTP server: 535 Authentication failed for crier with password *** — check the user and password in the smtp URL')
    expect(error.message).not.toContain(password)
    expect(error.stack ?? '').not.toContain(password)
    expect(fake.messages).toHaveLength(0)
  })

  it('keeps no piece of a password the server echoes many times: it is scrubbed before the reason is cut', async () => {
    const password = 'wrong-horse-battery-staple'
    await requireLogin({authFailureText: (_user, pass) => `Bad password ${Array(60).fill(pass).join(' ')} ${'p'.repeat(12)}${pass}`})
    const error = await sendExpectingError({smtp: fake.url('crier', password)})
    expect(error.message).toMatch(/^credentials refused by the SMTP server: 535 Bad password \*\*\* \*\*\*/)
    for (let length = 6; length <= password.length; length++) expect(error.message).not.toContain(password.slice(0, length))
  })

  it('tries a refused password once, not on every pooled connection: the sends waiting fail with it untried', async () => {
    await requireLogin()
    const channel = makeChannel({smtp: fake.url('crier', 'wrong-password'), maxConnections: 5})
    const announcement = makeAnnouncement()
    const send = (index: number) => sendToResident(channel, announcement, index)
    const outcomes = await Promise.allSettled(Array.from({length: 10}, (_, index) => send(index)))

    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(10).fill('rejected'))
    for (const outcome of outcomes) {
      const reason = (outcome as PromiseRejectedResult).reason as Error
      expect(reason).toBeInstanceOf(ChannelUnusableError)
      expect(reason.message).toMatch(/^credentials refused by the SMTP server: 535 /)
    }
    expect(fake.authAttempts).toBe(1)
    expect(fake.connectionsOpened).toBe(1)
    expect(fake.messages).toHaveLength(0)

    // Not refused for good: a later send (the engine stops the channel first) tries once more.
    await expect(send(10)).rejects.toBeInstanceOf(ChannelUnusableError)
    expect(fake.authAttempts).toBe(2)
  })

  it('opens the rest of the pool once a connection has logged in', async () => {
    await requireLogin()
    const channel = makeChannel({smtp: fake.url('crier', 'correct horse battery'), maxConnections: 4})
    const announcement = makeAnnouncement()
    const sends = Array.from({length: 40}, (_, index) => sendToResident(channel, announcement, index))
    await Promise.all(sends)

    expect(fake.messages).toHaveLength(40)
    expect(fake.peakConnections).toBeGreaterThan(1)
    expect(fake.peakConnections).toBeLessThanOrEqual(4)
    expect(fake.authAttempts).toBe(fake.connectionsOpened)
  })

  it('scrubs every secret read from the environment out of a reply', async () => {
    rememberSecret('env-secret-value-123')
    fake.answer(() => ({reply: 554, text: 'Relay denied for env-secret-value-123'}))
    const error = await sendExpectingError()
    expect(error.message).toBe('message refused: 554 Relay denied for ***')
  })

  it('reuses pooled connections: 50 messages over at most maxConnections connections', async () => {
    const channel = makeChannel({maxConnections: 3})
    const announcement = makeAnnouncement()
    const sends = Array.from({length: 50}, (_, index) => sendToResident(channel, announcement, index))
    const receipts = await Promise.all(sends)

    expect(fake.messages).toHaveLength(50)
    expect(new Set(fake.messages.map((message) => message.to[0])).size).toBe(50)
    expect(new Set(receipts.map((receipt) => receipt.providerId)).size).toBe(50)
    expect(fake.connectionsOpened).toBeLessThanOrEqual(3)
    expect(fake.peakConnections).toBeLessThanOrEqual(3)
  })

  it('keeps pooled connections open between sends until closeEmailTransports', async () => {
    await renderAndSend(makeAnnouncement())
    await renderAndSend(makeAnnouncement())
    expect(fake.connectionsOpened).toBe(1)
    expect(fake.openConnections).toBe(1)
    await closeEmailTransports()
    await vi.waitFor(() => expect(fake.openConnections).toBe(0))
  })
})

describe('email check', () => {
  const context = () => ({http: noHttp, signal: new AbortController().signal})

  it('reports accepted credentials without sending anything', async () => {
    await fake.close()
    fake = await startSmtpFake({users: {crier: 's3cret-pass'}})
    const result = await email.check(makeChannel({smtp: fake.url('crier', 's3cret-pass')}), context())
    expect(result).toEqual({ok: true, detail: `SMTP 127.0.0.1:${fake.port}: credentials accepted`})
    expect(fake.offers).toHaveLength(0)
    await vi.waitFor(() => expect(fake.openConnections).toBe(0))
  })

  it('reports refused credentials with the server reply, without the password', async () => {
    await fake.close()
    fake = await startSmtpFake({users: {crier: 's3cret-pass'}, authFailureText: (_user, pass) => `Bad password ${pass}`})
    const result = await email.check(makeChannel({smtp: fake.url('crier', 'not-the-pass')}), context())
    expect(result.ok).toBe(false)
    expect(result.detail).toBe(`SMTP 127.0.0.1:${fake.port}: credentials refused by the SMTP server: 535 Bad password *** — check the user and password in the smtp URL`)
  })

  it('reports a server without credentials as reachable', async () => {
    const result = await email.check(makeChannel(), context())
    expect(result).toEqual({ok: true, detail: `SMTP 127.0.0.1:${fake.port}: reachable; no credentials configured`})
  })

  it('reports a closed port as unreachable', async () => {
    const url = await closedSmtpUrl()
    const result = await email.check(makeChannel({smtp: url}), context())
    expect(result).toEqual({ok: false, detail: `SMTP ${url.slice('smtp://'.length)}: connection refused`})
  })
})

describe('email config', () => {
  const valid = {smtp: 'smtps://crier:pw@smtp.northwales.example', from: fromMailbox, audience: 'residents'}

  it('accepts an smtps URL and a mailbox, with five connections by default', () => {
    const result = email.config.safeParse(valid)
    expect(result.success).toBe(true)
    expect(result.data).toMatchObject({maxConnections: 5})
  })

  const smtpUrlRefusal =
    'expected an smtp:// or smtps:// URL — special characters in the user or password must be percent-encoded (@ as %40, # as %23, / as %2F, ? as %3F, % as %25)'

  it.each(['http://smtp.northwales.example', 'smtp.northwales.example:587', 'smtp://'])('refuses %s as the SMTP URL', (smtp) => {
    const result = email.config.safeParse({...valid, smtp})
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.message).toBe(smtpUrlRefusal)
  })

  // A password from ${SMTP_PASSWORD} with a / or a ? in it breaks the URL: the message says how to write it.
  it.each(['smtp://alerts:pa/ss@mail.northwales.example:587', 'smtp://alerts:pa?ss@mail.northwales.example:587', 'smtp://alerts:pass@mail.northwales.example:587/x#y@z', 'smtp://alerts:pa#ss@mail.northwales.example:587'])('says to percent-encode the password of %s', (smtp) => {
    const result = email.config.safeParse({...valid, smtp})
    expect(result.error?.issues[0]?.message).toBe(smtpUrlRefusal)
  })

  it('accepts a percent-encoded password', () => {
    expect(email.config.safeParse({...valid, smtp: 'smtp://alerts:p%40ss%2Fw%3Frd%23@mail.northwales.example:587'}).success).toBe(true)
  })

  it.each(['North Wales Police', 'North Wales Police <>', 'alerts at northwales.example'])('refuses %s as the sender', (from) => {
    const result = email.config.safeParse({...valid, from})
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.message).toMatch(/^expected a mailbox with an address/)
  })

  it('accepts a bare address as the sender', () => {
    expect(email.config.safeParse({...valid, from: 'alerts@northwales.example'}).success).toBe(true)
  })

  it('refuses an unsubscribe URL without {contact}', () => {
    expect(email.config.safeParse({...valid, unsubscribeUrl: 'https://northwales.example/unsubscribe'}).success).toBe(false)
  })

  it('refuses a channel without an audience, and more than 64 connections', () => {
    expect(email.config.safeParse({...valid, audience: ''}).success).toBe(false)
    expect(email.config.safeParse({smtp: valid.smtp, from: valid.from}).success).toBe(false)
    expect(email.config.safeParse({...valid, maxConnections: 65}).success).toBe(false)
  })
})
