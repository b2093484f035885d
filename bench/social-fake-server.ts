import {createServer, type IncomingMessage} from 'node:http'
import {serveAsChild} from './child-server.js'

// X, Mastodon, Bluesky, Telegram and a Facebook page at their fastest, on one port: each post is
// answered with its platform's success shape as soon as the body has arrived. Credentials are
// looked at only as far as telling a misrouted or unauthenticated request from a post (the X
// signature is not verified; the tests' fakes do that). Anything else is a 404 or 401, counted
// as refused. Run in its own process by child-server.ts (IPC protocol there).
//
// argv: MASTODON_TOKEN BOT_TOKEN PAGE_ID PAGE_TOKEN BLUESKY_PASSWORD

const [mastodonToken = '', botToken = '', pageId = '', pageToken = '', blueskyPassword = ''] = process.argv.slice(2)
const did = 'did:plc:benchbenchbenchbenchbench'
const handle = 'police.bench.example'
const accessJwt = `bench-access.${Buffer.from(blueskyPassword).toString('base64url')}`

let sequence = 0

type Answer = {status: number; body: string}

const notFound: Answer = {status: 404, body: JSON.stringify({error: 'Record not found'})}
const unauthorised: Answer = {status: 401, body: JSON.stringify({error: 'The access token is invalid'})}

function answerTo(request: IncomingMessage, body: string): {answer: Answer; isPost: boolean} {
  const {method, url = ''} = request
  const authorization = request.headers.authorization ?? ''
  if (method !== 'POST') return {answer: notFound, isPost: false}
  const id = String(1_790_000_000_000_000_000n + BigInt(++sequence))
  if (url === '/2/tweets') {
    if (!authorization.startsWith('OAuth ') || !authorization.includes('oauth_signature=')) return {answer: unauthorised, isPost: false}
    const text = (JSON.parse(body) as {text?: string}).text ?? ''
    return {answer: {status: 201, body: JSON.stringify({data: {id, text, edit_history_tweet_ids: [id]}})}, isPost: true}
  }
  if (url === '/api/v1/statuses') {
    if (authorization !== `Bearer ${mastodonToken}`) return {answer: unauthorised, isPost: false}
    const status = JSON.parse(body) as {status?: string; visibility?: string; language?: string; in_reply_to_id?: string}
    const answer = {
      id,
      created_at: new Date().toISOString(),
      in_reply_to_id: status.in_reply_to_id ?? null,
      sensitive: false,
      spoiler_text: '',
      visibility: status.visibility ?? 'public',
      language: status.language ?? null,
      uri: `https://mastodon.bench.example/users/police/statuses/${id}`,
      url: `https://mastodon.bench.example/@police/${id}`,
      content: `<p>${status.status ?? ''}</p>`,
      account: {id: '1', username: 'police', acct: 'police', display_name: 'North Wales Police'},
    }
    return {answer: {status: 200, body: JSON.stringify(answer)}, isPost: true}
  }
  if (url === '/xrpc/com.atproto.server.createSession') {
    const {password} = JSON.parse(body) as {password?: string}
    if (password !== blueskyPassword) return {answer: {status: 401, body: JSON.stringify({error: 'AuthenticationRequired', message: 'Invalid identifier or password'})}, isPost: false}
    return {answer: {status: 200, body: JSON.stringify({did, handle, accessJwt, refreshJwt: `${accessJwt}.refresh`, active: true})}, isPost: false}
  }
  if (url === '/xrpc/com.atproto.repo.putRecord') {
    if (authorization !== `Bearer ${accessJwt}`) return {answer: {status: 401, body: JSON.stringify({error: 'InvalidToken', message: 'Bad token'})}, isPost: false}
    const {rkey = ''} = JSON.parse(body) as {rkey?: string}
    const cid = `bafyreib${id}`
    const answer = {uri: `at://${did}/app.bsky.feed.post/${rkey}`, cid, commit: {cid: `bafyreic${id}`, rev: rkey}, validationStatus: 'valid'}
    return {answer: {status: 200, body: JSON.stringify(answer)}, isPost: true}
  }
  if (url === `/bot${botToken}/sendMessage`) {
    const {chat_id: chatId, text} = JSON.parse(body) as {chat_id?: string; text?: string}
    const chat = {id: -1_001_234_567_890, type: 'channel', title: 'North Wales Police alerts', username: String(chatId ?? '').replace(/^@/, '')}
    const message = {message_id: sequence, sender_chat: chat, chat, date: Math.floor(Date.now() / 1000), text}
    return {answer: {status: 200, body: JSON.stringify({ok: true, result: message})}, isPost: true}
  }
  if (url === `/v21.0/${pageId}/feed`) {
    if (authorization !== `Bearer ${pageToken}`) return {answer: {status: 400, body: JSON.stringify({error: {message: 'Invalid OAuth access token', type: 'OAuthException', code: 190}})}, isPost: false}
    return {answer: {status: 200, body: JSON.stringify({id: `${pageId}_${id}`})}, isPost: true}
  }
  return {answer: notFound, isPost: false}
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    const body = Buffer.concat(chunks)
    let answer: Answer
    let isPost = false
    try {
      ;({answer, isPost} = answerTo(request, body.toString('utf8')))
    } catch {
      answer = {status: 400, body: JSON.stringify({error: 'Malformed JSON'})}
    }
    if (isPost) {
      counts.count++
      counts.bytes += body.length
    } else if (answer.status >= 400) counts.refused++
    const payload = Buffer.from(answer.body)
    response.writeHead(answer.status, {'Content-Type': 'application/json; charset=utf-8', 'Content-Length': payload.length})
    response.end(payload)
  })
})

const counts = serveAsChild(server)
