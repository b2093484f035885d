import {spawn} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {crierBin, jsonOf, makeCrierHome} from '../helpers/cli.js'

describe('piped stdin without -', () => {
  it('is read every time', () => {
    const home = makeCrierHome()
    try {
      for (let i = 0; i < 10; i++) {
        const result = home.run(['draft', '--severity', 'Minor', '--json'], {input: `Bin collections delayed, try ${i}.`})
        expect(result.status, result.stderr).toBe(0)
        expect(jsonOf(result).variants[0].description).toBe(`Bin collections delayed, try ${i}.`)
      }
    } finally {
      home.cleanup()
    }
  })

  it('is refused when not valid UTF-8, every time (never decoded lossily)', () => {
    const home = makeCrierHome()
    try {
      for (let i = 0; i < 10; i++) {
        const result = home.run(['draft', '--severity', 'Minor'], {input: Buffer.from('caf\xe9 closed \xff', 'latin1')})
        expect(result.status, result.stdout + result.stderr).toBe(2)
        expect(result.stderr).toMatch(/^Error: stdin is not valid UTF-8/)
      }
    } finally {
      home.cleanup()
    }
  })

  it('is read when a Node script writes it a moment later (a child_process pipe is a socket)', async () => {
    const home = makeCrierHome()
    try {
      const result = await new Promise<{status: number | null; stdout: string; stderr: string}>((resolve, reject) => {
        const child = spawn(process.execPath, [crierBin, 'draft', '--severity', 'Minor', '--json'], {env: home.env})
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (chunk) => (stdout += chunk))
        child.stderr.on('data', (chunk) => (stderr += chunk))
        child.on('error', reject)
        child.on('close', (status) => resolve({status, stdout, stderr}))
        setTimeout(() => child.stdin.end('Written after start-up.'), 1500)
      })
      expect(result.status, result.stderr).toBe(0)
      expect(jsonOf(result).variants[0].description).toBe('Written after start-up.')
    } finally {
      home.cleanup()
    }
  })
})

describe('review', () => {
  it('the reviewer can reject a Severe draft that is waiting for their approval', () => {
    const home = makeCrierHome()
    try {
      const created = jsonOf(home.run(['draft', 'Wrong junction.', '--severity', 'Severe', '--json']))
      const result = home.run(['reject', created.id, '--reason', 'It is J12, not J11'], {env: {CRIER_USER: 'sgt.jones'}})
      expect(result.status, result.stderr).toBe(0)
      expect(jsonOf(home.run(['show', created.id, '--json']))).toMatchObject({state: 'draft', rejectReason: 'It is J12, not J11'})
    } finally {
      home.cleanup()
    }
  })

  it('an expiry written without an offset is read in the configured time zone', () => {
    const home = makeCrierHome() // TZ=UTC in the child
    try {
      home.writeConfig('timezone: Europe/London\nchannels:\n  website: { type: feed, dir: ./public }\n')
      const summer = jsonOf(home.run(['draft', 'Summer fair road closure.', '--severity', 'Minor', '--expires', '2099-07-01T18:00', '--json']))
      expect(summer.expiresAt).toBe(Date.UTC(2099, 6, 1, 17)) // 18:00 BST
      const winter = jsonOf(home.run(['draft', 'Winter fair road closure.', '--severity', 'Minor', '--expires', '2099-12-01T18:00', '--json']))
      expect(winter.expiresAt).toBe(Date.UTC(2099, 11, 1, 18)) // 18:00 GMT
    } finally {
      home.cleanup()
    }
  })

  it('the author may approve where policy needs no approval, and is told so', () => {
    const home = makeCrierHome()
    try {
      const created = jsonOf(home.run(['draft', 'Library closed Monday.', '--severity', 'Minor', '--json']))
      const result = home.run(['approve', created.id])
      expect(result.status, result.stderr).toBe(0)
      expect(result.stdout).toMatch(/policy needs no approval for Minor/)
    } finally {
      home.cleanup()
    }
  })
})
