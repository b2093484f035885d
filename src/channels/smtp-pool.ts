import {connect, type Socket} from 'node:net'
import type {Readable} from 'node:stream'
import type {Transporter} from 'nodemailer'
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js'
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js'
import type {ChannelConfig} from './driver.js'
import type {EmailSettings} from './email.js'
import {ChannelUnusableError, TransientSendError} from './errors.js'
import {passedLogin, refusesEveryMessage} from './smtp-failures.js'
import {channelTimeoutMs} from './timeout.js'

// The email channel's SMTP side: the endpoint its smtp:// URL names, and one pooled nodemailer
// transport per channel per process keeping `maxConnections` connections open between messages.

export const smtpUrlMessage = 'expected an smtp:// or smtps:// URL'
export interface SmtpEndpoint {
  host: string
  port: number
  secure: boolean
  user?: string
  password?: string
  /** host:port, for messages. */
  display: string
}

export function parseSmtpUrl(text: string): SmtpEndpoint | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') return undefined
  // An smtp URL has nothing after the port: a path, query or fragment here is a password with
  // an unencoded / ? or # cut in two — sending would go to the wrong host with half a password.
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) return undefined
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (!host) return undefined
  const secure = url.protocol === 'smtps:'
  const port = url.port ? Number(url.port) : secure ? 465 : 587
  const decode = (value: string) => {
    try {
      return decodeURIComponent(value)
    } catch {
      return value
    }
  }
  return {
    host,
    port,
    secure,
    ...(url.username ? {user: decode(url.username)} : {}),
    ...(url.password ? {password: decode(url.password)} : {}),
    display: `${url.hostname}:${port}`,
  }
}

export function endpointOf(channel: ChannelConfig<EmailSettings>): SmtpEndpoint {
  const endpoint = parseSmtpUrl(channel.smtp)
  // The schema refused anything else when the config loaded.
  if (!endpoint) throw new ChannelUnusableError(smtpUrlMessage)
  return endpoint
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}

export function transportOptions(channel: ChannelConfig<EmailSettings>, endpoint: SmtpEndpoint): SMTPTransport.Options {
  const timeoutMs = channelTimeoutMs(channel)
  const hasCredentials = Boolean(endpoint.user || endpoint.password)
  return {
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    ...(hasCredentials ? {auth: {user: endpoint.user ?? '', pass: endpoint.password ?? ''}} : {}),
    // Credentials never cross a network in clear text: off loopback, smtp:// must upgrade with STARTTLS.
    requireTLS: hasCredentials && !endpoint.secure && !isLoopback(endpoint.host),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    getSocket: connectWithoutDelay(endpoint),
    logger: false,
    debug: false,
  }
}

/**
 * nodemailer connects with Nagle's algorithm on and ends DATA with a small separate write, so
 * every message waits for the server's delayed ACK (40 ms on Linux). Measured: 500 messages over
 * 5 pooled connections to smtp-server on loopback, 4.8 s → 1.0 s with noDelay. The socket is
 * handed over still connecting (nodemailer's `connection` option, its proxy hook): a connect
 * error then reaches nodemailer as a socket error, which its pool recovers from; failing
 * getSocket's callback instead would leave a dead slot in the pool.
 */
function connectWithoutDelay(endpoint: SmtpEndpoint) {
  return (_options: unknown, callback: (error: Error | null, socketOptions: {connection: Socket}) => void) => {
    callback(null, {connection: connect({host: endpoint.host, port: endpoint.port, noDelay: true, keepAlive: true})})
  }
}

// One pooled transport per channel per process. Sends wait for a free connection here rather
// than in nodemailer's queue: a send given up on (abort, closeEmailTransports) while waiting
// then never goes out later behind our back.

/** Whether a send's message has been handed to the SMTP connection in full. */
interface HandedOver {
  done: boolean
}
const handedOverKey = 'crierHandedOver'

interface PooledTransport {
  send(message: SMTPPool.MailOptions, signal: AbortSignal): Promise<void>
  close(): void
}

type Nodemailer = typeof import('nodemailer')

let nodemailerLoading: Promise<Nodemailer> | undefined

/** nodemailer takes 45–55 ms to load (measured, Node 20); commands that never send never pay it. */
export function loadNodemailer(): Promise<Nodemailer> {
  nodemailerLoading ??= import('nodemailer').catch((error: unknown) => {
    nodemailerLoading = undefined
    throw error
  })
  return nodemailerLoading
}

const transports = new Map<string, Promise<PooledTransport>>()

export function pooledTransport(channel: ChannelConfig<EmailSettings>, endpoint: SmtpEndpoint): Promise<PooledTransport> {
  const key = [channel.name, channel.smtp, channel.maxConnections, channel.timeout].join('\u0000')
  let transport = transports.get(key)
  if (!transport) {
    const created: Promise<PooledTransport> = loadNodemailer().then((nodemailer) =>
      createPooledTransport(nodemailer, channel, endpoint, () => {
        if (transports.get(key) === created) transports.delete(key)
      }),
    )
    transport = created
    transports.set(key, transport)
    transport.catch(() => transports.delete(key))
  }
  return transport
}

/** `forget` drops it from the transports in use: a refused login closes it. */
function createPooledTransport(nodemailer: Nodemailer, channel: ChannelConfig<EmailSettings>, endpoint: SmtpEndpoint, forget: () => void): PooledTransport {
  const options: SMTPPool.Options & {maxRequeues: number} = {
    ...(transportOptions(channel, endpoint) as SMTPPool.Options),
    pool: true,
    maxConnections: channel.maxConnections,
    // nodemailer would silently resend a message whose connection closed mid-send; that is a
    // possible duplicate, so the engine decides instead (retry, or `unknown`).
    maxRequeues: 0,
  }
  const mailer: Transporter = nodemailer.createTransport(options)
  // Notes when a message has been read out in full into the connection's DATA stream (the last
  // step of the message's stream): a failure after that may have delivered it (smtp-failures.ts).
  mailer.use('stream', (mail, done) => {
    const note = (mail.data as {[handedOverKey]?: HandedOver})[handedOverKey]
    if (note) {
      // 'end' comes once the connection's DATA stream has read the whole message; listening for
      // it changes nothing in how the stream flows (a pass-through stream here cost ~70 µs a message).
      mail.message.processFunc((input: Readable) => input.once('end', () => (note.done = true)))
    }
    done()
  })
  // Until one connection has logged in, one message goes at a time: a wrong password is then
  // refused once, not on every connection of the pool at once (providers lock accounts after a
  // few refusals). A refusal shuts this transport: the sends waiting fail with it, untried, and
  // the next send (the engine stops the channel first) starts a new one that tries once again.
  let loggedIn = false
  let inUse = 0
  /** Why no more sends are taken (closed, or the login refused); undefined while open. */
  let closedBy: unknown
  const waiting = new Set<{start: () => void; cancel: (error: unknown) => void}>()
  const limit = () => (loggedIn ? channel.maxConnections : 1)

  const acquire = (signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (closedBy !== undefined) return reject(closedBy)
      if (signal.aborted) return reject(new TransientSendError('request aborted'))
      if (inUse < limit()) {
        inUse++
        return resolve()
      }
      const onAbort = () => entry.cancel(new TransientSendError('request aborted'))
      const entry = {
        start: () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        },
        cancel: (error: unknown) => {
          waiting.delete(entry)
          signal.removeEventListener('abort', onAbort)
          reject(error)
        },
      }
      waiting.add(entry)
      signal.addEventListener('abort', onAbort, {once: true})
    })

  const release = (error: unknown) => {
    inUse--
    if (error === undefined || passedLogin(error)) loggedIn = true
    else if (refusesEveryMessage(error)) {
      forget()
      close(error)
      return
    }
    for (const next of waiting) {
      if (inUse >= limit()) break
      waiting.delete(next)
      inUse++
      next.start()
    }
  }

  const close = (error: unknown) => {
    closedBy = error
    for (const entry of [...waiting]) entry.cancel(error)
    mailer.close()
  }

  return {
    async send(message, signal) {
      await acquire(signal)
      // An abort cannot recall a message nodemailer is already writing; the caller is told at
      // once and (non-idempotent driver) the engine records the delivery as in doubt. The slot
      // is freed when nodemailer is done with the message, so an aborted send still counts.
      const handedOver: HandedOver = {done: false}
      const sent = mailer.sendMail({...message, [handedOverKey]: handedOver} as SMTPPool.MailOptions)
      sent.then(
        () => release(undefined),
        (error: unknown) => release(error),
      )
      try {
        await untilAborted(sent, signal)
      } catch (error) {
        if (handedOver.done && error && typeof error === 'object') Object.assign(error, {messageHandedOver: true})
        throw error
      }
    },
    close: () => close(new TransientSendError('the SMTP connection pool was closed')),
  }
}

/** Closes every pooled SMTP transport of this process, so it can exit; the engine calls it when a run ends. */
export async function closeEmailTransports(): Promise<void> {
  const pending = [...transports.values()]
  transports.clear()
  const settled = await Promise.allSettled(pending)
  for (const result of settled) if (result.status === 'fulfilled') result.value.close()
}

export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined)
    return Promise.reject(new TransientSendError('request aborted'))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new TransientSendError('request aborted'))
    signal.addEventListener('abort', onAbort, {once: true})
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
