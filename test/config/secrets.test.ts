import {describe, expect, it} from 'vitest'
import {redact, redactValues, rememberSecret} from '../../src/config/secrets.js'
import {safeReason} from '../../src/channels/http-failures.js'

// A provider's error may quote what it was sent, in its own encoding: each form a secret can
// come back in is scrubbed before anything is stored or shown.

describe('secret redaction', () => {
  it('scrubs a secret as written, URL-encoded and JSON-escaped (\\/ and \\")', () => {
    const key = 'k3y/With/Slash"q+0011='
    const json = JSON.stringify({error: `invalid api key ${key}`}).replaceAll('/', '\\/')
    expect(redactValues(json, [key])).toBe('{"error":"invalid api key ***"}')
    expect(redactValues(`?key=${encodeURIComponent(key)}&x=1`, [key])).toBe('?key=***&x=1')
  })

  it('scrubs a secret \\u-escaped as Go and Rails write & < > (either case of hex), and as Python writes what is not ASCII', () => {
    const token = 'pt&9<Zk>Qw2rT7'
    const goStyle = JSON.stringify({received: `Bearer ${token}`}).replaceAll('&', '\\u0026').replaceAll('<', '\\u003c').replaceAll('>', '\\u003E')
    expect(goStyle).toContain('\\u003c')
    expect(redactValues(goStyle, [token])).toBe('{"received":"Bearer ***"}')
    const welsh = 'cyfrinair-ŵŷ-🔑'
    const pythonStyle = JSON.stringify({error: `bad password ${welsh}`}).replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    expect(pythonStyle).toContain('\\ud83d\\udd11')
    expect(redactValues(pythonStyle, [welsh])).toBe('{"error":"bad password ***"}')
  })

  it('scrubs a secret with invisible characters slipped between its letters, and leaves the text around it alone', () => {
    expect(redactValues('535 bad smtpPa\u200bsswordSECRET\u2060bbb for user\u200d', ['smtpPasswordSECRETbbb'])).toBe('535 bad *** for user\u200d')
  })

  it('scrubs a base64 token that decodes to text holding a secret: SMTP AUTH PLAIN, a Basic header', () => {
    const plain = Buffer.from('\u0000alerts\u0000p@ss#wordXYZ').toString('base64')
    expect(redactValues(`535 5.7.8 bad creds ${plain} decoded=x`, ['p@ss#wordXYZ'])).toBe('535 5.7.8 bad creds *** decoded=x')
    const basic = Buffer.from('user:s3cret-token').toString('base64url')
    expect(redactValues(`Authorization: Basic ${basic}`, ['s3cret-token'])).toBe('Authorization: Basic ***')
    // Ordinary words and base64 of something else stay.
    const other = Buffer.from('nothing to hide here').toString('base64')
    expect(redactValues(`permanent failure ${other}`, ['s3cret-token'])).toBe(`permanent failure ${other}`)
  })

  it("applies to ${ENV} secrets and to a channel's own credentials, longest first", () => {
    rememberSecret('env-secret-4417')
    expect(redact(`{"t":"env-secret-4417","b":"${Buffer.from('a:env-secret-4417').toString('base64')}"}`)).toBe('{"t":"***","b":"***"}')
    expect(safeReason('HTTP 401: token tok\\/abc\\/99 and tok', ['tok/abc/99'])).toBe('HTTP 401: token *** and tok')
  })
})
