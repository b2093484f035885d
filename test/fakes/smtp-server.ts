import {createServer, type AddressInfo, type Socket} from 'node:net'
import {SMTPServer, type SMTPServerSession} from 'smtp-server'

// A real SMTP server on 127.0.0.1 (DESIGN.md "Testing"), built on smtp-server: it stores every
// message it accepts and answers as a plan says — accept, a 4xx/5xx reply, a dropped
// connection or silence — at RCPT TO or after DATA. It counts connections, so a test can see
// a pool reuse them. Plain text only: STARTTLS is disabled and AUTH is allowed without TLS,
// which is fine on loopback and nowhere else.

/** A message as the plan sees it: who it is from and for, and its place in arrival order. */
export interface Offer {
  /** 0-based, one per MAIL FROM (per message, whatever its fate), from the server's start. */
  index: number
  from: string
  /** Envelope recipients so far: all of them after DATA, those up to this one at RCPT TO. */
  to: string[]
}

/** Where in the SMTP conversation an answer is given. Default `data`: after the whole message. */
export type Stage = 'rcpt' | 'data'

export type SmtpAnswer =
  | {accept: true}
  /** Reply with this code (421 also closes the connection, as smtp-server does). */
  | {reply: number; text?: string; at?: Stage}
  /** Destroy the connection without a reply. */
  | {drop: true; at?: Stage}
  /** Never answer (close() still ends it): for the client's timeout. */
  | {stall: true; at?: Stage}

export type SmtpPlan = (offer: Offer) => SmtpAnswer

/** A message the server accepted. */
export interface ReceivedMessage {
  index: number
  /** Envelope sender and recipients: what SMTP delivers to, whatever the headers say. */
  from: string
  to: string[]
  /** Exactly as received after DATA (dot-unstuffed), CRLF line ends. */
  raw: string
  /** Header name (lower case) → every value, unfolded, encoded words decoded. */
  headers: Record<string, string[]>
  /** The first value of a header, or undefined. */
  header(name: string): string | undefined
  /** Decoded text/plain and text/html parts, when present. */
  text?: string
  html?: string
  /** The authenticated user, when the client logged in. */
  user?: string
  receivedAt: number
}

export interface SmtpFake {
  port: number
  /** smtp://user:pass@127.0.0.1:port, or without credentials. */
  url(user?: string, pass?: string): string
  messages: ReceivedMessage[]
  /** Every message offered and what the plan answered, accepted or not. */
  offers: Array<Offer & {answer: SmtpAnswer; stage: Stage}>
  /** TCP connections accepted since the start. */
  readonly connectionsOpened: number
  /** Most connections open at the same moment. */
  readonly peakConnections: number
  /** Connections open now. */
  readonly openConnections: number
  /** Logins tried (AUTH), accepted or refused. */
  readonly authAttempts: number
  /** Replaces the plan; it applies to messages offered from now on. */
  answer(plan: SmtpPlan): void
  /** Ends every connection, idle and stalled ones included, and stops listening. */
  close(): Promise<void>
}

export interface SmtpFakeOptions {
  /** When given, AUTH PLAIN/LOGIN is required with one of these user → password pairs (535 otherwise). */
  users?: Record<string, string>
  /** The text of the 535 reply; a test may make it echo the password to prove a client scrubs it. */
  authFailureText?: (user: string, password: string) => string
  plan?: SmtpPlan
}

export const acceptAll: SmtpPlan = () => ({accept: true})

export async function startSmtpFake(options: SmtpFakeOptions = {}): Promise<SmtpFake> {
  const {users} = options
  let plan = options.plan ?? acceptAll
  let offered = 0
  const messages: ReceivedMessage[] = []
  const offers: SmtpFake['offers'] = []
  /** session id → the index of its current message. */
  const currentIndex = new Map<string, number>()
  const sockets = new Map<number, Socket>()
  let connectionsOpened = 0
  let peakConnections = 0
  let authAttempts = 0

  const socketOf = (session: SMTPServerSession) => sockets.get(session.remotePort)
  const decide = (offer: Offer, stage: Stage): SmtpAnswer => {
    let answer: SmtpAnswer
    try {
      answer = plan(offer)
    } catch (error) {
      answer = {reply: 451, text: `fake plan failed: ${(error as Error).message}`}
    }
    const answerStage = 'accept' in answer ? 'data' : (answer.at ?? 'data')
    // An answer meant for the other stage accepts at this one.
    if (answerStage !== stage) return {accept: true}
    offers.push({...offer, answer, stage})
    return answer
  }
  /** Carries out a non-accepting answer; true when it did. */
  const refuse = (answer: SmtpAnswer, session: SMTPServerSession, callback: (error?: Error | null) => void): boolean => {
    if ('reply' in answer) {
      callback(Object.assign(new Error(answer.text ?? defaultReplyText(answer.reply)), {responseCode: answer.reply}))
      return true
    }
    if ('drop' in answer) {
      socketOf(session)?.destroy()
      return true
    }
    if ('stall' in answer) return true
    return false
  }

  const server = new SMTPServer({
    name: 'smtp.fake.test',
    banner: 'crier test SMTP',
    logger: false,
    disableReverseLookup: true,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: !users,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      authAttempts++
      const user = auth.username ?? ''
      const password = auth.password ?? ''
      if (!users || (Object.hasOwn(users, user) && users[user] === password)) return callback(null, {user})
      const text = options.authFailureText?.(user, password) ?? 'Authentication failed: invalid user or password'
      callback(Object.assign(new Error(text), {responseCode: 535}))
    },
    onMailFrom(address, session, callback) {
      currentIndex.set(session.id, offered++)
      callback()
    },
    onRcptTo(address, session, callback) {
      const offer: Offer = {
        index: currentIndex.get(session.id) ?? -1,
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: [...session.envelope.rcptTo.map((each) => each.address), address.address],
      }
      if (!refuse(decide(offer, 'rcpt'), session, callback)) callback()
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        const offer: Offer = {
          index: currentIndex.get(session.id) ?? -1,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((each) => each.address),
        }
        const answer = decide(offer, 'data')
        if (refuse(answer, session, callback)) return
        messages.push({...offer, ...parseMessage(raw), raw, user: typeof session.user === 'string' ? session.user : undefined, receivedAt: Date.now()})
        callback(null, `OK: queued as fake-${offer.index}`)
      })
    },
  })
  server.on('error', () => undefined)
  server.server.on('connection', (socket: Socket) => {
    const port = socket.remotePort ?? -1
    sockets.set(port, socket)
    connectionsOpened++
    peakConnections = Math.max(peakConnections, sockets.size)
    socket.on('close', () => sockets.delete(port))
  })

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.server.address() as AddressInfo

  return {
    port,
    url(user, pass) {
      const credentials = user === undefined ? '' : `${encodeURIComponent(user)}${pass === undefined ? '' : `:${encodeURIComponent(pass)}`}@`
      return `smtp://${credentials}127.0.0.1:${port}`
    },
    messages,
    offers,
    get connectionsOpened() {
      return connectionsOpened
    },
    get authAttempts() {
      return authAttempts
    },
    get peakConnections() {
      return peakConnections
    },
    get openConnections() {
      return sockets.size
    },
    answer(next) {
      plan = next
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets.values()) socket.destroy()
      await closed
    },
  }
}

function defaultReplyText(code: number): string {
  if (code === 421) return 'Service not available, closing transmission channel'
  if (code === 451) return 'Requested action aborted: local error in processing'
  if (code === 550) return 'Requested action not taken: mailbox unavailable'
  return code < 500 ? 'Try again later' : 'Refused'
}

/** A port on 127.0.0.1 where nothing listens, for "connection refused". */
export async function closedSmtpUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const {port} = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `smtp://127.0.0.1:${port}`
}

// Just enough MIME to assert on: headers (unfolded, RFC 2047 words decoded) and the decoded
// text/plain and text/html parts, however deeply nested in multipart/*.

type ParsedMessage = Pick<ReceivedMessage, 'headers' | 'header' | 'text' | 'html'>

export function parseMessage(raw: string): ParsedMessage {
  const {headers, body} = splitEntity(raw)
  const parsed: ParsedMessage = {headers, header: (name) => headers[name.toLowerCase()]?.[0]}
  collectParts(headers, body, parsed)
  return parsed
}

function splitEntity(raw: string): {headers: Record<string, string[]>; body: string} {
  const end = /\r?\n\r?\n/.exec(raw)
  const head = end ? raw.slice(0, end.index) : raw
  const body = end ? raw.slice(end.index + end[0].length) : ''
  const headers: Record<string, string[]> = {}
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    ;(headers[name] ??= []).push(decodeWords(line.slice(colon + 1).trim()))
  }
  return {headers, body}
}

function collectParts(headers: Record<string, string[]>, body: string, into: ParsedMessage): void {
  const type = headers['content-type']?.[0] ?? 'text/plain'
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1]
  if (/^multipart\//i.test(type) && boundary) {
    const sections = body.split(new RegExp(`\\r?\\n?--${escapeRegExp(boundary)}(?:--)?[ \\t]*\\r?\\n?`))
    // The preamble before the first boundary and the epilogue after the last are not parts.
    for (const section of sections.slice(1)) {
      if (!section.trim()) continue
      const part = splitEntity(section)
      collectParts(part.headers, part.body, into)
    }
    return
  }
  const decoded = decodeBody(body, headers['content-transfer-encoding']?.[0] ?? '7bit')
  if (/^text\/html/i.test(type)) into.html ??= decoded
  else if (/^text\/plain/i.test(type)) into.text ??= decoded
}

function decodeBody(body: string, encoding: string): string {
  const kind = encoding.toLowerCase()
  if (kind === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
  if (kind === 'quoted-printable') return decodeQuotedPrintable(body).replace(/\r\n/g, '\n')
  return body.replace(/\r\n/g, '\n')
}

function decodeQuotedPrintable(text: string): string {
  const joined = text.replace(/=\r?\n/g, '')
  const bytes: number[] = []
  for (let index = 0; index < joined.length; index++) {
    const hex = joined.slice(index + 1, index + 3)
    if (joined[index] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16))
      index += 2
    } else {
      bytes.push(...Buffer.from(joined[index]!, 'utf8'))
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

/** RFC 2047: =?charset?B|Q?text?= words; whitespace between two adjacent words is dropped. */
function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?[^?]+\?[BbQq]\?[^?]*\?=)/g, '$1')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_whole, _charset: string, kind: string, text: string) =>
      kind.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replace(/_/g, ' ')),
    )
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
