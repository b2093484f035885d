import {createHmac} from 'node:crypto'
import type {Answer, IncomingRequest, ResponsePlan} from './provider-server.js'

// A Graph API-shaped plan for startProviderFake, for a Facebook Page
// (https://developers.facebook.com/docs/pages-api/posts), under a version prefix as the real
// host has it (`/v21.0`):
//
//   POST /{version}/{page-id}/feed   message, link (a form, or JSON)
//   GET  /{version}/{page-id}        ?fields=name
//   GET  /{version}/me               the token's owner: the page itself for a Page token
//
// The token is taken where Graph takes it (Authorization: Bearer or OAuth, or an access_token
// parameter) and checked as Graph checks it; errors are Graph's `{"error": {message, type,
// code, error_subcode, fbtrace_id}}`. Failures come on cue by index among feed posts.

export const testPageId = '104729381234567'
export const testPageToken = 'EAAGm0PX4ZCpsBAFakePageTokenForCrierTests9x7'
export const testPageName = 'North Wales Police'

export interface FacebookPlanOptions {
  pageId?: string
  pageAccessToken?: string
  pageName?: string
  /** The path prefix, as in the baseUrl; default `/v21.0`. */
  version?: string
  /** When set, every call must carry a matching appsecret_proof, as an app with "Require App Secret" demands. */
  appSecret?: string
  /** What /me answers for the right token; default: the page itself (a Page access token). */
  tokenOwner?: {id: string; name: string}
  /** Answers for feed posts by 0-based index among the authenticated feed posts to the page this plan sees. */
  cueAt?: Record<number, Answer>
}

/** How the request carried its token. */
export type TokenCarrier = 'bearer' | 'oauth' | 'body' | 'query' | 'none'

/** One POST to a page's feed, its parameters as received, and how it was answered. */
export interface FacebookPost {
  /** The request's index in the fake's log. */
  index: number
  pageId: string
  message?: string
  link?: string
  /** Every parameter but the token, unknown ones included. */
  parameters: Record<string, string>
  tokenVia: TokenCarrier
  /** Set when the post was published: "<page id>_<post id>". */
  postId?: string
  /** 200, or the HTTP status of Graph's error (cued resets: undefined). */
  status?: number
  errorCode?: number
}

export interface FacebookFake {
  plan: ResponsePlan
  /** Every feed POST, in arrival order, whatever it was answered. */
  posts: FacebookPost[]
  /** The posts Facebook would have published. */
  accepted(): FacebookPost[]
}

const jsonHeaders = {'Content-Type': 'application/json'}
let traceSequence = 0

/** A Graph API error document with that HTTP status (Graph uses 400 for most, 500 for codes 1 and 2). */
export function graphError(status: number, code: number, message: string, options: {type?: string; subcode?: number; headers?: Record<string, string>; isTransient?: boolean} = {}): Answer {
  traceSequence += 1
  const error = {
    message,
    type: options.type ?? 'OAuthException',
    code,
    ...(options.subcode !== undefined && {error_subcode: options.subcode}),
    ...(options.isTransient !== undefined && {is_transient: options.isTransient}),
    fbtrace_id: `AbCdTrace${String(traceSequence).padStart(6, '0')}`,
  }
  return {status, headers: {...jsonHeaders, ...options.headers}, body: JSON.stringify({error})}
}

/** The failures the facebook driver classifies, as the Graph API answers them. */
export const facebookFaults = {
  /** Page request limit (#32), with the business use case header's estimated minutes when given. */
  pageRateLimited: (estimatedMinutes?: number): Answer =>
    graphError(400, 32, '(#32) Page request limit reached', {
      headers: estimatedMinutes === undefined ? {} : {'x-business-use-case-usage': JSON.stringify({[testPageId]: [{type: 'pages', call_count: 104, total_cputime: 12, total_time: 31, estimated_time_to_regain_access: estimatedMinutes}]})},
    }),
  /** Application request limit (#4), with x-app-usage (which carries no estimate). */
  appRateLimited: (): Answer => graphError(400, 4, '(#4) Application request limit reached', {headers: {'x-app-usage': '{"call_count":101,"total_cputime":20,"total_time":40}'}}),
  tokenExpired: (): Answer => graphError(400, 190, 'Error validating access token: Session has expired on Thursday, 09-May-24 02:00:00 PDT.', {subcode: 463}),
  permissionMissing: (): Answer =>
    graphError(403, 200, '(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission'),
  unknownError: (): Answer => graphError(500, 1, 'An unknown error occurred', {isTransient: true}),
  serviceUnavailable: (): Answer => graphError(503, 2, 'Service temporarily unavailable', {isTransient: true}),
  duplicate: (): Answer => graphError(400, 506, '(#506) Duplicate status message', {type: 'GraphMethodException'}),
}

/** A plan answering as the Graph API does for one page, with the posts it received. */
export function facebookPlan(options: FacebookPlanOptions = {}): FacebookFake {
  const pageId = options.pageId ?? testPageId
  const token = options.pageAccessToken ?? testPageToken
  const pageName = options.pageName ?? testPageName
  const version = options.version ?? '/v21.0'
  const owner = options.tokenOwner ?? {id: pageId, name: pageName}
  const posts: FacebookPost[] = []
  let feedPostsSeen = 0
  let published = 0

  const plan: ResponsePlan = (request) => {
    const [pathname, query = ''] = request.path.split('?') as [string, string?]
    if (!pathname.startsWith(`${version}/`)) return graphError(400, 2500, 'Unknown path components: ' + pathname, {})
    const route = pathname.slice(version.length + 1).split('/')
    const parameters = parametersOf(request, query)
    const {token: given, via} = tokenOf(request, parameters)
    delete parameters.access_token

    const isFeedPost = request.method === 'POST' && route.length === 2 && route[1] === 'feed'
    const post: FacebookPost | undefined = isFeedPost
      ? {index: request.index, pageId: decodeURIComponent(route[0]!), message: parameters.message, link: parameters.link, parameters, tokenVia: via}
      : undefined
    const answer = ((): Answer => {
      // Graph checks the token before anything else.
      if (given === undefined) return graphError(400, 104, 'An access token is required to request this resource.')
      if (given !== token) return graphError(400, 190, 'Invalid OAuth access token - Cannot parse access token')
      if (options.appSecret) {
        const proof = createHmac('sha256', options.appSecret).update(token).digest('hex')
        if (parameters.appsecret_proof === undefined) return graphError(400, 100, 'API calls from the server require an appsecret_proof argument', {type: 'GraphMethodException'})
        if (parameters.appsecret_proof !== proof) return graphError(400, 100, 'Invalid appsecret_proof provided in the API argument', {type: 'GraphMethodException'})
      }
      if (request.method === 'GET' && route.length === 1 && route[0] === 'me') return ok(pick({id: owner.id, name: owner.name}, parameters.fields))
      const objectId = decodeURIComponent(route[0] ?? '')
      if (objectId !== pageId) {
        const verb = request.method === 'POST' ? 'post' : 'get'
        return graphError(400, 100, `Unsupported ${verb} request. Object with ID '${objectId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`, {type: 'GraphMethodException', subcode: 33})
      }
      if (request.method === 'GET' && route.length === 1) return ok(pick({id: pageId, name: pageName}, parameters.fields))
      if (isFeedPost) {
        const cued = options.cueAt?.[feedPostsSeen++]
        if (cued) return cued
        if (!parameters.message && !parameters.link) return graphError(400, 100, '(#100) Missing message or attachment')
        if ((parameters.message ?? '').length > 63_206) return graphError(400, 100, '(#100) Message is too long')
        published += 1
        post!.postId = `${pageId}_${String(8_800_000_000_000 + published)}`
        return ok({id: post!.postId})
      }
      return graphError(400, 100, `(#100) Unsupported ${request.method.toLowerCase()} request`, {type: 'GraphMethodException'})
    })()
    if (post) {
      if ('status' in answer) {
        post.status = answer.status
        const code = safeJson(answer.body)?.error?.code
        if (typeof code === 'number') post.errorCode = code
      }
      posts.push(post)
    }
    return answer
  }

  return {plan, posts, accepted: () => posts.filter((post) => post.postId !== undefined)}
}

function ok(result: unknown): Answer {
  return {status: 200, headers: jsonHeaders, body: JSON.stringify(result)}
}

/** Only the fields asked for (Graph's `fields`), id always. */
function pick(object: Record<string, string>, fields: string | undefined): Record<string, string> {
  const wanted = new Set(['id', ...(fields ?? 'name').split(',').map((field) => field.trim())])
  return Object.fromEntries(Object.entries(object).filter(([key]) => wanted.has(key)))
}

/** Parameters from the query string and a form or JSON body; the body wins. */
function parametersOf(request: IncomingRequest, query: string): Record<string, string> {
  const parameters: Record<string, string> = Object.fromEntries(new URLSearchParams(query))
  const type = String(request.headers['content-type'] ?? '')
  if (type.startsWith('application/x-www-form-urlencoded')) Object.assign(parameters, Object.fromEntries(new URLSearchParams(request.body)))
  else if (type.startsWith('application/json') && request.body) {
    for (const [key, value] of Object.entries(safeJson(request.body) ?? {})) parameters[key] = typeof value === 'string' ? value : JSON.stringify(value)
  }
  return parameters
}

/** Graph takes the token from the Authorization header (Bearer or OAuth) or an access_token parameter. */
function tokenOf(request: IncomingRequest, parameters: Record<string, string>): {token?: string; via: TokenCarrier} {
  const header = request.headers.authorization
  const match = typeof header === 'string' ? /^(Bearer|OAuth) (.+)$/i.exec(header) : null
  if (match) return {token: match[2], via: match[1]!.toLowerCase() === 'bearer' ? 'bearer' : 'oauth'}
  if (parameters.access_token !== undefined) return {token: parameters.access_token, via: request.path.includes('access_token=') ? 'query' : 'body'}
  return {via: 'none'}
}

function safeJson(text: string | undefined): any {
  try {
    return JSON.parse(text ?? '')
  } catch {
    return undefined
  }
}

/** A facebook channel for config.yaml pointing at the fake; the token comes from FACEBOOK_PAGE_TOKEN. JSON is YAML. */
export function facebookChannelConfig(fakeUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {type: 'facebook', pageId: testPageId, pageAccessToken: '${FACEBOOK_PAGE_TOKEN}', baseUrl: `${fakeUrl}/v21.0`, ...overrides}
}

/** The environment facebookChannelConfig needs. */
export const facebookEnv = {FACEBOOK_PAGE_TOKEN: testPageToken}
