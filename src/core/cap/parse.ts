import {XMLParser} from 'fast-xml-parser'
import {
  capStatuses,
  categories,
  certainties,
  msgTypes,
  scopes,
  severities,
  urgencies,
  type Announcement,
  type Area,
  type Circle,
  type Variant,
} from '../announcement.js'
import {UsageError} from '../errors.js'

// Reads the CAP 1.2 and 1.1 documents agencies publish (test/fixtures/cap). What crier's
// Announcement cannot hold (parameters, resources, eventCodes, a second category) is dropped;
// what it needs and the document lacks is refused by name.

const capNamespaces = ['urn:oasis:names:tc:emergency:cap:1.2', 'urn:oasis:names:tc:emergency:cap:1.1']

/** CAP's default when an info has no <language>. */
const defaultLanguage = 'en-US'

/** A CAP document crier cannot read; the message names the element at fault. Bad input: exit 2. */
export class CapParseError extends UsageError {}

/** One message a CAP document updates or cancels, as CAP names it. */
export interface CapReference {
  sender: string
  identifier: string
  sent: number
}

type CrierOwnField = 'id' | 'state' | 'author' | 'channels' | 'createdAt' | 'updatedAt' | 'sentAt' | 'rejectReason' | 'references'
type InfoField = 'category' | 'event' | 'urgency' | 'severity' | 'certainty'

/**
 * An Announcement as a CAP document states it: without crier's own fields, with the document's
 * `sent` (epoch ms) and its `references` in CAP form. One variant per <info>; the shared fields
 * come from the first <info>, so they are absent only when the document has none (CAP allows an
 * alert without <info>).
 */
export type ParsedCap = Omit<Announcement, CrierOwnField | InfoField> &
  Partial<Pick<Announcement, InfoField>> & {
    sent: number
    references?: CapReference[]
  }

/** The parsed document has at least one <info>, so every field an Announcement needs is there. */
export function hasInfo(parsed: ParsedCap): parsed is ParsedCap & Pick<Announcement, InfoField> {
  return parsed.variants.length > 0
}

type XmlNode = Record<string, unknown>

const repeatableElements = new Set(['info', 'category', 'area', 'polygon', 'circle', 'geocode'])

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Identifiers and geocodes such as "041420" are text, not numbers.
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => repeatableElements.has(name),
})

export function parseCap(xml: string): ParsedCap {
  const namespace = rootNamespace(xml)
  let document: XmlNode
  try {
    document = parser.parse(xml, true) as XmlNode
  } catch (error) {
    throw new CapParseError(`CAP document is not well-formed XML: ${error instanceof Error ? error.message : String(error)}`)
  }
  const alert = document['alert']
  if (!isNode(alert)) throw new CapParseError(`not a CAP document: the root element is not <alert>`)
  if (namespace === undefined || !capNamespaces.includes(namespace)) {
    throw new CapParseError(`not a CAP 1.1 or 1.2 document: <alert> has namespace "${namespace ?? ''}", expected ${capNamespaces.join(' or ')}`)
  }

  const identifier = required(alert, 'identifier')
  const sender = required(alert, 'sender')
  const sent = parseCapDateTime(required(alert, 'sent'), 'sent')
  const status = oneOf(alert, 'status', capStatuses)
  const msgType = oneOf(alert, 'msgType', msgTypes)
  const scope = oneOf(alert, 'scope', scopes)
  const referencesText = optional(alert, 'references')
  const infos = nodes(alert['info'])

  const parsed: ParsedCap = {identifier, sender, sent, status, msgType, scope, variants: []}
  if (referencesText) parsed.references = parseReferences(referencesText)

  infos.forEach((info, index) => {
    const where = infos.length > 1 ? ` in <info> ${index + 1}` : ''
    const fields = {
      category: oneOf(info, 'category', categories, where),
      event: required(info, 'event', where),
      urgency: oneOf(info, 'urgency', urgencies, where),
      severity: oneOf(info, 'severity', severities, where),
      certainty: oneOf(info, 'certainty', certainties, where),
    }
    parsed.variants.push(toVariant(info))
    if (index > 0) return
    Object.assign(parsed, fields)
    const senderName = optional(info, 'senderName')
    if (senderName) parsed.senderName = senderName
    const web = optional(info, 'web')
    if (web) parsed.web = web
    const effective = optional(info, 'effective')
    if (effective) parsed.effectiveAt = parseCapDateTime(effective, 'effective')
    const expires = optional(info, 'expires')
    if (expires) parsed.expiresAt = parseCapDateTime(expires, 'expires')
    const areas = nodes(info['area'])
    if (areas.length > 0) parsed.area = mergeAreas(areas)
  })
  return parsed
}

/**
 * CAP dateTime. Documents in the wild write `-00:00`, `Z` and fractions of a second; all are
 * read, none are written (see formatCapDateTime).
 */
export function parseCapDateTime(text: string, element: string): number {
  const epochMs = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text) ? Date.parse(text) : Number.NaN
  if (Number.isNaN(epochMs)) throw new CapParseError(`CAP document has an invalid <${element}> "${excerpt(text)}" (expected a date such as 2024-05-01T09:30:00+01:00)`)
  return epochMs
}

function toVariant(info: XmlNode): Variant {
  const variant: Variant = {
    language: optional(info, 'language') || defaultLanguage,
    headline: optional(info, 'headline') ?? '',
    description: optional(info, 'description') ?? '',
  }
  const instruction = optional(info, 'instruction')
  if (instruction) variant.instruction = instruction
  return variant
}

/** An Announcement has one area; several CAP <area>s become one with all their shapes. */
function mergeAreas(areas: XmlNode[]): Area {
  return {
    description: areas
      .map((area) => optional(area, 'areaDesc') ?? '')
      .filter((description) => description !== '')
      .join('; '),
    polygons: areas.flatMap((area) => texts(area['polygon']).map(parsePolygon)),
    circles: areas.flatMap((area) => texts(area['circle']).map(parseCircle)),
    geocodes: areas.flatMap((area) =>
      nodes(area['geocode']).map((geocode) => ({name: optional(geocode, 'valueName') ?? '', value: optional(geocode, 'value') ?? ''})),
    ),
  }
}

function parsePolygon(text: string): Array<[number, number]> {
  return text.split(/\s+/).map((pair) => parsePair(pair, 'polygon', text))
}

function parseCircle(text: string): Circle {
  const [pair = '', radius = '', ...rest] = text.split(/\s+/)
  const [lat, lon] = parsePair(pair, 'circle', text)
  const radiusKm = Number(radius)
  if (radius === '' || rest.length > 0 || !Number.isFinite(radiusKm)) throw invalid('circle', text)
  return {lat, lon, radiusKm}
}

function parsePair(pair: string, element: string, whole: string): [number, number] {
  const parts = pair.split(',')
  const [lat, lon] = parts.map((part) => (part.trim() === '' ? Number.NaN : Number(part)))
  if (parts.length !== 2 || lat === undefined || lon === undefined || !Number.isFinite(lat) || !Number.isFinite(lon)) throw invalid(element, whole)
  return [lat, lon]
}

/** CAP <references>: space-separated "sender,identifier,sent" triples. */
function parseReferences(text: string): CapReference[] {
  return text.split(/\s+/).map((triple) => {
    const [sender, identifier, sent, ...rest] = triple.split(',')
    if (!sender || !identifier || !sent || rest.length > 0) throw invalid('references', text)
    return {sender, identifier, sent: parseCapDateTime(sent, 'references')}
  })
}

function required(node: XmlNode, element: string, where = ''): string {
  const value = optional(node, element)
  if (!value) throw new CapParseError(`CAP document is missing <${element}>${where}`)
  return value
}

function oneOf<Value extends string>(node: XmlNode, element: string, allowed: readonly Value[], where = ''): Value {
  const value = required(node, element, where)
  if (!(allowed as readonly string[]).includes(value)) {
    throw new CapParseError(`CAP document has an unknown <${element}> "${excerpt(value)}"${where} (expected one of ${allowed.join(', ')})`)
  }
  return value as Value
}

/** The element's text; the first when it repeats. */
function optional(node: XmlNode, element: string): string | undefined {
  return texts(node[element])[0]
}

function texts(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value]
  return values.map((item) => {
    if (typeof item === 'string') return item
    if (isNode(item)) return typeof item['#text'] === 'string' ? item['#text'] : ''
    return String(item)
  })
}

function nodes(value: unknown): XmlNode[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value]
  // An empty element (<info/>) parses as '', which is an info with nothing in it.
  return values.map((item) => (isNode(item) ? item : {}))
}

function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalid(element: string, text: string): CapParseError {
  return new CapParseError(`CAP document has an invalid <${element}> "${excerpt(text)}"`)
}

function excerpt(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/**
 * The namespace of the root element, read from its start tag: fast-xml-parser drops namespace
 * declarations along with the prefixes, and a root element must declare its own namespace.
 */
function rootNamespace(xml: string): string | undefined {
  // Skip the BOM, the XML declaration, processing instructions, comments and a doctype.
  const prolog = /^(?:\uFEFF|\s+|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^[>]*(?:\[[\s\S]*?\])?\s*>)*/
  const start = xml.slice(prolog.exec(xml)?.[0].length ?? 0)
  const tag = /^<(?:([\w.-]+):)?[\w.-]+((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/.exec(start)
  if (!tag) return undefined
  const declaration = tag[1] ? `xmlns:${tag[1]}` : 'xmlns'
  for (const attribute of (tag[2] ?? '').matchAll(/([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    if (attribute[1] === declaration) return (attribute[2] ?? attribute[3] ?? '').trim()
  }
  return undefined
}
