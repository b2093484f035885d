import type {Answer, IncomingRequest, ResponsePlan} from './provider-server.js'

// A Telegram Bot API-shaped plan for startProviderFake (https://core.telegram.org/bots/api):
// the token checked where Telegram has it, in the path (`/bot<token>/<method>`), parameters
// read from the query string, a form or JSON as the Bot API reads them, and its answers:
//
//   sendMessage    chat_id, text, parse_mode (HTML parsed as Telegram parses it, the visible
//                  text counted against 4,096 UTF-16 units), reply_parameters / reply_to_message_id
//   getMe          the bot
//   getChat        the chat, or 400 "chat not found"
//   getChatMember  the bot's membership (status, can_post_messages)
//
// Failures come on cue by index among sendMessage requests (429 with parameters.retry_after,
// 502, a reset…) and from the chat itself (bot kicked, not an administrator of a channel).

export const testBotToken = '7312046598:AAH4kq-Zx_f3VtTelegramTestToken0123'
export const testBotUsername = 'northwales_alerts_bot'

/** A chat the fake knows, and what the bot is in it. */
export interface FakeChat {
  id: number
  type: 'channel' | 'supergroup' | 'group'
  title: string
  username?: string
  /** The bot's status in the chat; default administrator. */
  botStatus?: 'creator' | 'administrator' | 'member' | 'restricted' | 'left' | 'kicked'
  /** Channels: whether the bot, as administrator, may post. Default true. */
  canPostMessages?: boolean
}

export const northWalesChannel: FakeChat = {id: -1001234567890, type: 'channel', title: 'North Wales Police', username: 'northwalespolice'}

export interface TelegramPlanOptions {
  botToken?: string
  botUsername?: string
  chats?: FakeChat[]
  /** Answers for sendMessage requests by 0-based index among the sendMessage requests this plan sees. */
  cueAt?: Record<number, Answer>
}

/** One sendMessage request, its parameters exactly as received, and how it was answered. */
export interface TelegramPost {
  /** The request's index in the fake's log. */
  index: number
  chat_id: unknown
  text: unknown
  parse_mode: unknown
  disable_notification: unknown
  reply_parameters: unknown
  reply_to_message_id: unknown
  /** Every parameter, unknown ones included. */
  parameters: Record<string, unknown>
  /** Set when the message was accepted. */
  messageId?: number
  /** The text as subscribers see it (markup parsed), when accepted. */
  visibleText?: string
  /** Telegram's answer: 200, or its error code. Cued answers keep the cue's status (reset: undefined). */
  status?: number
  description?: string
}

export interface TelegramFake {
  plan: ResponsePlan
  /** Every sendMessage request, in arrival order, whatever it was answered. */
  posts: TelegramPost[]
  /** The posts Telegram would have published. */
  accepted(): TelegramPost[]
}

const jsonHeaders = {'Content-Type': 'application/json'}

/** A Bot API error: `{ok: false, error_code, description, parameters?}` with that HTTP status. */
export function telegramError(status: number, description: string, parameters?: Record<string, unknown>): Answer {
  return {status, headers: jsonHeaders, body: JSON.stringify({ok: false, error_code: status, description, ...(parameters && {parameters})})}
}

/** The failures the telegram driver classifies, as the Bot API answers them. */
export const telegramFaults = {
  /** Flood control: 429 with parameters.retry_after (seconds), as Telegram sends it. */
  tooManyRequests: (retryAfterSeconds: number): Answer => telegramError(429, `Too Many Requests: retry after ${retryAfterSeconds}`, {retry_after: retryAfterSeconds}),
  badGateway: (): Answer => telegramError(502, 'Bad Gateway'),
  chatNotFound: (): Answer => telegramError(400, 'Bad Request: chat not found'),
  /** A group upgraded to a supergroup has a new id. */
  migrated: (newChatId: number): Answer => telegramError(400, 'Bad Request: group chat was upgraded to a supergroup chat', {migrate_to_chat_id: newChatId}),
}

const maxMessageLength = 4096

/** A plan answering as the Bot API does, with the posts it received. */
export function telegramPlan(options: TelegramPlanOptions = {}): TelegramFake {
  const token = options.botToken ?? testBotToken
  const botUsername = options.botUsername ?? testBotUsername
  const botId = Number(token.split(':')[0])
  const chats = options.chats ?? [northWalesChannel]
  const posts: TelegramPost[] = []
  /** Message ids per chat, as Telegram numbers them: each chat counts on its own. */
  const messagesByChat = new Map<number, number[]>()
  let sendsSeen = 0

  const findChat = (chatId: unknown): FakeChat | undefined => {
    const text = String(chatId ?? '')
    if (text.startsWith('@')) return chats.find((chat) => chat.username?.toLowerCase() === text.slice(1).toLowerCase())
    return /^-?\d+$/.test(text) ? chats.find((chat) => chat.id === Number(text)) : undefined
  }

  const plan: ResponsePlan = (request) => {
    const route = /^\/bot([^/]*)\/([A-Za-z]+)$/.exec(request.path.split('?')[0]!)
    if (!route) return telegramError(404, 'Not Found')
    // Telegram answers 404 to a token that is not one, and 401 to a well-formed wrong one.
    if (!/^\d+:[A-Za-z0-9_-]+$/.test(route[1]!)) return telegramError(404, 'Not Found')
    if (route[1] !== token) return telegramError(401, 'Unauthorized')
    const method = route[2]!
    const parameters = parametersOf(request)

    if (method === 'sendMessage') {
      const index = sendsSeen++
      const post: TelegramPost = {
        index: request.index,
        chat_id: parameters.chat_id,
        text: parameters.text,
        parse_mode: parameters.parse_mode,
        disable_notification: parameters.disable_notification,
        reply_parameters: parameters.reply_parameters,
        reply_to_message_id: parameters.reply_to_message_id,
        parameters,
      }
      posts.push(post)
      const cued = options.cueAt?.[index]
      const answer = cued ?? sendMessage(parameters, post)
      if ('status' in answer) {
        post.status = answer.status
        if (answer.status !== 200) post.description = descriptionOf(answer.body)
      }
      return answer
    }
    if (method === 'getMe') return ok({id: botId, is_bot: true, first_name: 'North Wales Alerts', username: botUsername, can_join_groups: false})
    if (method === 'getChat') {
      const chat = findChat(parameters.chat_id)
      return chat ? ok(chatObject(chat)) : telegramFaults.chatNotFound()
    }
    if (method === 'getChatMember') {
      const chat = findChat(parameters.chat_id)
      if (!chat) return telegramFaults.chatNotFound()
      if (Number(parameters.user_id) !== botId) return telegramError(400, 'Bad Request: user not found')
      const status = chat.botStatus ?? 'administrator'
      const user = {id: botId, is_bot: true, first_name: 'North Wales Alerts', username: botUsername}
      if (status === 'administrator') return ok({status, user, can_be_edited: false, can_post_messages: chat.canPostMessages ?? true, can_manage_chat: true})
      return ok({status, user})
    }
    return telegramError(404, 'Not Found')
  }

  /** Telegram's checks on a new message, in its order, then the Message it created. */
  function sendMessage(parameters: Record<string, unknown>, post: TelegramPost): Answer {
    const chat = findChat(parameters.chat_id)
    if (!chat) return telegramFaults.chatNotFound()
    const status = chat.botStatus ?? 'administrator'
    if (status === 'left') return telegramError(403, `Forbidden: bot is not a member of the ${chat.type} chat`)
    if (status === 'kicked') return telegramError(403, `Forbidden: bot was kicked from the ${chat.type} chat`)
    if (chat.type === 'channel' && ((status !== 'administrator' && status !== 'creator') || chat.canPostMessages === false)) {
      return telegramError(400, 'Bad Request: need administrator rights in the channel chat')
    }
    if (typeof parameters.text !== 'string' || parameters.text.trim() === '') return telegramError(400, 'Bad Request: message text is empty')
    let visible: string
    if (parameters.parse_mode === undefined) visible = parameters.text
    else if (parameters.parse_mode === 'HTML') {
      const parsed = parseTelegramHtml(parameters.text)
      if ('error' in parsed) return telegramError(400, `Bad Request: can't parse entities: ${parsed.error}`)
      visible = parsed.text
    } else return telegramError(400, `Bad Request: unsupported parse_mode`)
    visible = visible.trim()
    if (visible === '') return telegramError(400, 'Bad Request: message text is empty')
    if (visible.length > maxMessageLength) return telegramError(400, 'Bad Request: message is too long')

    const posted = messagesByChat.get(chat.id) ?? []
    const reply = objectOf(parameters.reply_parameters)
    const replyTo = reply.message_id ?? parameters.reply_to_message_id
    const replyAllowedMissing = reply.allow_sending_without_reply === true || parameters.allow_sending_without_reply === true
    if (replyTo !== undefined && !posted.includes(Number(replyTo)) && !replyAllowedMissing) return telegramError(400, 'Bad Request: message to be replied not found')

    const messageId = 100 + posted.length + 1
    posted.push(messageId)
    messagesByChat.set(chat.id, posted)
    post.messageId = messageId
    post.visibleText = visible
    return ok({
      message_id: messageId,
      sender_chat: chatObject(chat),
      chat: chatObject(chat),
      date: 1_715_247_000 + messageId,
      text: visible,
      ...(replyTo !== undefined && posted.includes(Number(replyTo)) && {reply_to_message: {message_id: Number(replyTo), chat: chatObject(chat)}}),
    })
  }

  return {plan, posts, accepted: () => posts.filter((post) => post.messageId !== undefined)}
}

function ok(result: unknown): Answer {
  return {status: 200, headers: jsonHeaders, body: JSON.stringify({ok: true, result})}
}

function chatObject(chat: FakeChat): Record<string, unknown> {
  return {id: chat.id, type: chat.type, title: chat.title, ...(chat.username && {username: chat.username})}
}

/** The Bot API takes parameters in the query string, a urlencoded form, or JSON; later ones win. */
function parametersOf(request: IncomingRequest): Record<string, unknown> {
  const parameters: Record<string, unknown> = {}
  const query = request.path.split('?')[1]
  if (query) Object.assign(parameters, Object.fromEntries(new URLSearchParams(query)))
  const type = String(request.headers['content-type'] ?? '')
  if (type.startsWith('application/json') && request.body) Object.assign(parameters, objectOf(JSON.parse(request.body)))
  else if (type.startsWith('application/x-www-form-urlencoded')) {
    for (const [key, value] of new URLSearchParams(request.body)) {
      // Form values that are objects (reply_parameters) arrive JSON-serialised.
      parameters[key] = value.startsWith('{') ? safeJson(value) : value
    }
  }
  return parameters
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function objectOf(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

function descriptionOf(body: string | undefined): string | undefined {
  const description = objectOf(safeJson(body ?? '')).description
  return typeof description === 'string' ? description : undefined
}

// Telegram HTML (https://core.telegram.org/bots/api#html-style), parsed as strictly as Telegram
// does: a `<` that does not open a supported tag is an error, so unescaped markup in an
// announcement would be refused here as it is there.

const supportedTags = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji'])
const namedEntities: Record<string, string> = {lt: '<', gt: '>', amp: '&', quot: '"'}

/** The visible text of a Telegram HTML message, or Telegram's parse error. */
export function parseTelegramHtml(html: string): {text: string} | {error: string} {
  let text = ''
  const open: string[] = []
  const byteOffset = (index: number) => Buffer.byteLength(html.slice(0, index))
  let index = 0
  while (index < html.length) {
    const char = html[index]!
    if (char === '<') {
      const end = html.indexOf('>', index)
      if (end < 0) return {error: `Can't find end of the entity starting at byte offset ${byteOffset(index)}`}
      const inside = html.slice(index + 1, end)
      const closing = inside.startsWith('/')
      const written = (closing ? inside.slice(1) : inside).trim().split(/\s/)[0]!
      const name = written.toLowerCase()
      if (!supportedTags.has(name)) return {error: `Unsupported ${closing ? 'end' : 'start'} tag "${written}" at byte offset ${byteOffset(index)}`}
      if (closing) {
        const expected = open.pop()
        if (expected !== name) return {error: `Unmatched end tag at byte offset ${byteOffset(index)}, expected "</${expected ?? ''}>", found "</${name}>"`}
      } else open.push(name)
      index = end + 1
      continue
    }
    if (char === '&') {
      const entity = /^&(#x[0-9a-f]+|#\d+|[a-z]+);/i.exec(html.slice(index, index + 12))
      const named = entity && namedEntities[entity[1]!.toLowerCase()]
      if (entity && (named || entity[1]!.startsWith('#'))) {
        const value = entity[1]!
        text += named ?? String.fromCodePoint(value.startsWith('#x') || value.startsWith('#X') ? parseInt(value.slice(2), 16) : Number(value.slice(1)))
        index += entity[0].length
        continue
      }
      // A bare & that starts no entity is kept as it is.
    }
    text += char
    index++
  }
  if (open.length) return {error: `Can't find end tag corresponding to start tag "${open.at(-1)}"`}
  return {text}
}

/** A telegram channel for config.yaml pointing at the fake; the token comes from TELEGRAM_BOT_TOKEN. JSON is YAML. */
export function telegramChannelConfig(fakeUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {type: 'telegram', botToken: '${TELEGRAM_BOT_TOKEN}', chatId: '@northwalespolice', baseUrl: fakeUrl, ...overrides}
}

/** The environment telegramChannelConfig needs. */
export const telegramEnv = {TELEGRAM_BOT_TOKEN: testBotToken}
