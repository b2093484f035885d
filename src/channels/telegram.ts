import {z} from 'zod'
import {severities} from '../core/announcement.js'
import {stripTerminalControls} from '../core/terminal-text.js'
import type {ChannelConfig, CheckResult, Driver, PostedPart, SendContext} from './driver.js'
import {ChannelUnusableError, PermanentSendError, RateLimitedError, TransientSendError} from './errors.js'
import type {HttpClient, HttpResponse} from './http.js'
import {firstBodyLine, gatewayInDoubt, headerValue, networkReason, parseRetryAfter, safeReason, urlSecrets, parseJsonObject, unansweredSend} from './http-failures.js'
import {channelTimeoutMs} from './timeout.js'
import {socialText} from './social-text.js'
import {postThread, threadPosts} from './thread.js'
import {apiBaseUrl} from './http-url.js'

// A Telegram channel or group, through the Bot API over plain HTTP
// (https://core.telegram.org/bots/api#sendmessage): the bot posts as the channel, the headline
// in bold. A long announcement becomes a thread of replies, each after the one before.
//
// The bot token is part of every URL (`/bot<token>/<method>`), so it must never reach an error,
// a log or a receipt: every reason goes through safeReason with the token as a secret.
// The Bot API has no idempotency key, so a send whose answer was lost may have gone out: the
// driver is not idempotent and the engine marks such a delivery `unknown`, never resends.

/** https://core.telegram.org/bots/api#sendmessage: "1-4096 characters after entities parsing". */
const maxMessageLength = 4096
/** When a 429 says neither `retry_after` nor Retry-After. */
const defaultRateLimitMs = 30_000

/**
 * `<bot id>:<secret>`, as @BotFather issues it — or `${VAR}` left in place because this shell
 * lacks the variable: that is reported as missing (the channel set aside, the others usable),
 * not as a malformed token that refuses the whole config.
 */
const botTokenPattern = /^(\d+:[A-Za-z0-9_-]+|\$\{[A-Za-z_][A-Za-z0-9_]*\})$/
/** A public channel's or group's @username (https://core.telegram.org/method/account.checkUsername), or a numeric chat id. */
const chatIdPattern = /^(@[A-Za-z][A-Za-z0-9_]{3,31}|-?\d{1,20})$/

const telegramSettings = z.object({
  /** From @BotFather; written `${ENV}` in config. */
  botToken: z.string().regex(botTokenPattern, 'expected a bot token such as 123456789:AAH…, as @BotFather gives it'),
  /** A channel's @username, or a numeric chat id (groups: -100…). YAML may give the number unquoted. */
  chatId: z
    .union([z.string(), z.number().int()])
    .transform(String)
    .refine((id) => chatIdPattern.test(id), 'expected a channel @username or a numeric chat id such as -1001234567890'),
  /** The Bot API host; a self-hosted Bot API server's address works too. */
  baseUrl: apiBaseUrl.default('https://api.telegram.org'),
  /** Announcements of these severities are posted without a notification sound. */
  silentFor: z.array(z.enum(severities)).default(['Minor']),
  threads: z.boolean().default(true),
  severityTag: z.boolean().default(true),
})
export type TelegramSettings = z.infer<typeof telegramSettings>

/** render() output and send() input: each post's text in Telegram HTML, in thread order. */
export interface TelegramPayload {
  chatId: string
  posts: string[]
  /** The first post goes out without a notification sound (later posts of a thread always do). */
  silent: boolean
}

export const telegram: Driver<TelegramSettings, TelegramPayload> = {
  type: 'telegram',
  kind: 'broadcast',
  config: telegramSettings,
  capabilities: {maxLength: maxMessageLength, counts: 'characters', threads: true, media: false, idempotent: false, reconcile: false},

  render(announcement, variant, context) {
    const {channel} = context
    const text = socialText(announcement, variant, {severityTag: channel.severityTag, capUrl: context.capUrl})
    // Counted on the text people see: the markup added below is not part of Telegram's count.
    const posts = threadPosts(text, {limit: maxMessageLength, count: telegramLength, threads: channel.threads})
    const silent = channel.silentFor.includes(announcement.severity)
    return {
      parts: posts.map((post, index) => ({
        label: `${posts.length === 1 ? 'post' : `post ${index + 1}/${posts.length}`}${silent || index > 0 ? ', silent' : ''}`,
        text: post,
        length: {count: telegramLength(post), limit: maxMessageLength, unit: 'characters' as const},
      })),
      payload: {chatId: channel.chatId, posts: posts.map((post, index) => (index === 0 ? withBoldHeading(post, text.heading) : escapeHtml(post))), silent},
    }
  },

  async send(payload, context) {
    const {channel} = context
    const chatId = payload.chatId
    return postThread(payload.posts, context, async (text, index, replyTo) => {
      const parameters: Record<string, unknown> = {chat_id: chatId, text, parse_mode: 'HTML'}
      // One notification per announcement: the rest of a thread arrives quietly.
      if (payload.silent || index > 0) parameters.disable_notification = true
      // A deleted earlier post must not stop a public warning: the part is then sent unthreaded.
      if (replyTo) parameters.reply_parameters = {message_id: Number(replyTo.providerId), allow_sending_without_reply: true}
      const message = asMessage(await callOrThrow(channel, 'sendMessage', parameters, context))
      return postedAs(message, chatId)
    })
  },

  async check(channel, context) {
    const call = (method: string, parameters: Record<string, unknown>) => callBotApi(channel, method, parameters, context)
    let me: BotAnswer
    try {
      me = await call('getMe', {})
    } catch (error) {
      return {ok: false, detail: `unreachable: ${safeReason(networkReason(error), channelSecrets(channel))}`}
    }
    if (!me.ok) return {ok: false, detail: failureReason(me, channel)}
    const bot = objectOf(me.result)
    const botName = typeof bot.username === 'string' ? `@${outsideText(bot.username, channel)}` : 'the bot'
    try {
      return await checkChat(channel, botName, Number(bot.id), call)
    } catch (error) {
      return {ok: false, detail: `bot ${botName} works, but the chat is unreachable: ${safeReason(networkReason(error), channelSecrets(channel))}`}
    }
  },
}

/** Telegram counts a message in UTF-16 code units, as JavaScript does. */
function telegramLength(text: string): number {
  return text.length
}

/** https://core.telegram.org/bots/api#html-style: only <, > and & need escaping outside tags. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/**
 * The first post with the heading in bold. A heading longer than a post was split, so only the
 * part of it the post holds is bold: the longest run of whole characters both begin with.
 */
function withBoldHeading(post: string, heading: string): string {
  const postChars = Array.from(post)
  const headingChars = Array.from(heading)
  let shared = 0
  while (shared < postChars.length && shared < headingChars.length && postChars[shared] === headingChars[shared]) shared++
  const bold = postChars.slice(0, shared).join('').trimEnd()
  if (!bold) return escapeHtml(post)
  return `<b>${escapeHtml(bold)}</b>${escapeHtml(post.slice(bold.length))}`
}

// The Bot API.

/** A Bot API answer (https://core.telegram.org/bots/api#making-requests). */
type BotAnswer =
  | {ok: true; result: unknown}
  | {ok: false; status: number; errorCode?: number; description?: string; retryAfterSeconds?: number; migrateToChatId?: number; response: HttpResponse}

/** One Bot API call as a JSON POST. Throws only when no HTTP answer came. */
async function callBotApi(
  channel: ChannelConfig<TelegramSettings>,
  method: string,
  parameters: Record<string, unknown>,
  context: {http: HttpClient; signal: AbortSignal},
): Promise<BotAnswer> {
  const url = `${channel.baseUrl.replace(/\/+$/, '')}/bot${channel.botToken}/${method}`
  const response = await context.http.request(url, {
    timeoutMs: channelTimeoutMs(channel),
    signal: context.signal,
    method: 'POST',
    headers: {'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': 'crier'},
    body: JSON.stringify(parameters),
  })
  const parsed = parseJsonObject(response.body)
  if (response.status === 200 && parsed?.ok === true) return {ok: true, result: parsed.result}
  const answerParameters = objectOf(parsed?.parameters)
  return {
    ok: false,
    status: response.status,
    errorCode: typeof parsed?.error_code === 'number' ? parsed.error_code : undefined,
    description: typeof parsed?.description === 'string' ? parsed.description : undefined,
    retryAfterSeconds: typeof answerParameters.retry_after === 'number' ? answerParameters.retry_after : undefined,
    migrateToChatId: typeof answerParameters.migrate_to_chat_id === 'number' ? answerParameters.migrate_to_chat_id : undefined,
    response,
  }
}

/** callBotApi for send: the result, or the failure classified for the engine. */
async function callOrThrow(channel: ChannelConfig<TelegramSettings>, method: string, parameters: Record<string, unknown>, context: SendContext<TelegramSettings>): Promise<unknown> {
  let answer: BotAnswer
  try {
    answer = await callBotApi(channel, method, parameters, context)
  } catch (error) {
    throw unansweredSend(error, channelSecrets(channel))
  }
  if (answer.ok) return answer.result
  throw classifyFailure(answer, channel, context.now())
}

/** 400s about the chat itself, not the message: every message to it would be refused the same. */
const channelWide = /chat not found|need administrator rights|not enough rights|have no rights to send/i

function classifyFailure(answer: Extract<BotAnswer, {ok: false}>, channel: ChannelConfig<TelegramSettings>, nowMs: number): Error {
  const reason = failureReason(answer, channel)
  const code = answer.errorCode ?? answer.status
  const headerWait = parseRetryAfter(headerValue(answer.response, 'retry-after'), nowMs)
  const retryAfterMs = answer.retryAfterSeconds !== undefined ? answer.retryAfterSeconds * 1000 : headerWait
  if (code === 429 || answer.status === 429) return new RateLimitedError(reason, retryAfterMs ?? defaultRateLimitMs)
  const inDoubt = gatewayInDoubt(answer.status, reason, 'the message')
  if (inDoubt) return inDoubt
  // The token refused (revoked), or the bot put out of the chat or without the right to post in
  // it: no message can go to the channel's one chat, so the channel waits, its deliveries queued,
  // until it is set right.
  if (code === 401 || code === 403 || (code === 400 && channelWide.test(answer.description ?? ''))) return new ChannelUnusableError(reason)
  if (answer.status >= 500 || code >= 500 || answer.status === 408 || answer.status === 425) return new TransientSendError(reason, retryAfterMs)
  // 400 (chat not found, can't parse entities), 401 (token), 403 (bot not in the chat), 404
  // (malformed token), and redirects, which undici does not follow: resending cannot succeed.
  return new PermanentSendError(reason)
}

/** "Telegram 400: Bad Request: chat not found", with what to do where crier knows. Never the token. */
function failureReason(answer: Extract<BotAnswer, {ok: false}>, channel: ChannelConfig<TelegramSettings>): string {
  const said = answer.description ?? firstBodyLine(answer.response.body)
  const code = answer.errorCode ?? answer.status
  const base = said ? `Telegram ${code}: ${outsideText(said, channel)}` : `Telegram ${code}`
  if (answer.migrateToChatId !== undefined) return `${base} — the group is now a supergroup: set the channel's chatId to ${answer.migrateToChatId}`
  if (code === 401) return `${base} — check the channel's botToken`
  // The Bot API answers 404 to a token that is not one, or to a baseUrl that is not a Bot API.
  if (code === 404) return `${base} — check the channel's botToken and baseUrl`
  if (code === 403) return `${base} — add the bot to the chat (a channel: as an administrator who may post messages)`
  return base
}

/** Text a provider sent, made safe to store and print. */
function outsideText(text: string, channel: ChannelConfig<TelegramSettings>): string {
  return safeReason(stripTerminalControls(text).trim(), channelSecrets(channel))
}

interface SentMessage {
  message_id: number
  chat?: {id?: number; username?: string}
}

function asMessage(result: unknown): SentMessage {
  const message = objectOf(result)
  if (typeof message.message_id !== 'number') throw new TransientSendError('Telegram answered ok without a message_id')
  return message as unknown as SentMessage
}

/** The part's id, and its public link where the chat has a username (channels, public groups). */
function postedAs(message: SentMessage, chatId: string): Omit<PostedPart, 'index'> {
  const username = typeof message.chat?.username === 'string' ? message.chat.username : chatId.startsWith('@') ? chatId.slice(1) : undefined
  const providerId = String(message.message_id)
  return username ? {providerId, url: `https://t.me/${encodeURIComponent(username)}/${providerId}`} : {providerId}
}

/**
 * getChat proves the chat exists for this bot; getChatMember for the bot itself says whether it
 * may post there (a channel: administrator with can_post_messages).
 */
async function checkChat(
  channel: ChannelConfig<TelegramSettings>,
  botName: string,
  botId: number,
  call: (method: string, parameters: Record<string, unknown>) => Promise<BotAnswer>,
): Promise<CheckResult> {
  const chatAnswer = await call('getChat', {chat_id: channel.chatId})
  if (!chatAnswer.ok) return {ok: false, detail: `bot ${botName} works, but chat ${channel.chatId}: ${failureReason(chatAnswer, channel)}`}
  const chat = objectOf(chatAnswer.result)
  const kind = typeof chat.type === 'string' ? outsideText(chat.type, channel) : 'chat'
  const title = typeof chat.title === 'string' ? ` "${outsideText(chat.title, channel)}"` : ''
  const username = typeof chat.username === 'string' ? ` (@${outsideText(chat.username, channel)})` : ''
  const described = `${kind}${title}${username}`
  const memberAnswer = await call('getChatMember', {chat_id: channel.chatId, user_id: botId})
  if (!memberAnswer.ok) return {ok: false, detail: `bot ${botName} reaches ${described}, but cannot tell whether it may post: ${failureReason(memberAnswer, channel)}`}
  const member = objectOf(memberAnswer.result)
  if (!mayPost(kind, member)) {
    const status = typeof member.status === 'string' ? outsideText(member.status, channel) : 'unknown'
    const needs = kind === 'channel' ? 'make it an administrator allowed to post messages' : 'let it send messages in the group'
    return {ok: false, detail: `bot ${botName} reaches ${described}, but may not post there (status: ${status}) — ${needs}`}
  }
  return {ok: true, detail: `bot ${botName} may post to ${described}`}
}

/** https://core.telegram.org/bots/api#chatmember */
function mayPost(chatType: string, member: Record<string, unknown>): boolean {
  const status = member.status
  if (status === 'creator') return true
  if (chatType === 'channel') return status === 'administrator' && member.can_post_messages !== false
  if (status === 'administrator' || status === 'member') return true
  return status === 'restricted' && member.is_member === true && member.can_send_messages === true
}

/**
 * The token, its secret half (a provider may quote either), the `bot<token>` path segment,
 * the baseUrl's credentials, plus every `${ENV}` value crier knows (safeReason).
 */
function channelSecrets(channel: ChannelConfig<TelegramSettings>): string[] {
  const token = channel.botToken
  const secretHalf = token.slice(token.indexOf(':') + 1)
  return [`bot${token}`, token, encodeURIComponent(token), secretHalf, ...urlSecrets(channel.baseUrl)]
}

function objectOf(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

