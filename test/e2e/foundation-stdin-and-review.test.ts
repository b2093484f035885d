import {spawn, spawnSync} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
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

/** crier ARGS with a stdin pipe that stays open and is never written to, as a careless script leaves it; killed after 15 s. */
function withSilentStdin(home: ReturnType<typeof makeCrierHome>, args: string[]): Promise<{status: number | null; stdout: string; stderr: string; ms: number}> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [crierBin, ...args], {env: home.env, cwd: home.home, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const hung = setTimeout(() => child.kill('SIGKILL'), 15_000)
    child.on('error', reject)
    child.on('close', (status) => {
      clearTimeout(hung)
      resolve({status, stdout, stderr, ms: Date.now() - started})
    })
  })
}

describe('a stdin pipe left open with nothing written', () => {
  it('is not waited on for good: no text is exit 2 naming what to do; a template needs none; --text … works at once', async () => {
    const home = makeCrierHome()
    try {
      home.writeConfig('channels:\n  website: {type: feed, dir: ./public}\ntemplates:\n  bins: {headline: "Bins {day}", text: "Bins are collected on {day}.", severity: Minor, channels: [website]}\n')
      const noText = await withSilentStdin(home, ['draft', '--severity', 'Minor'])
      expect(noText.status, noText.stderr).toBe(2)
      expect(noText.stderr).toBe('Error: stdin is open but no text came within 2 s — give the text as an argument or with --file, or pipe it with - (crier draft - waits for it)\n')
      const fromTemplate = await withSilentStdin(home, ['draft', '--template', 'bins', '--var', 'day=Tuesday', '--json'])
      expect(fromTemplate.status, fromTemplate.stderr).toBe(0)
      expect(jsonOf(fromTemplate).variants[0].description).toBe('Bins are collected on Tuesday.')
      const given = await withSilentStdin(home, ['draft', 'Road closed.', '--severity', 'Minor', '--json'])
      expect(given.status, given.stderr).toBe(0)
      expect(jsonOf(home.run(['list', '--json']))).toHaveLength(2)
    } finally {
      home.cleanup()
    }
  })
})

describe('stdin that is a directory', () => {
  it('is exit 2 saying so, not an unexpected error', () => {
    const home = makeCrierHome()
    const fd = openSync(home.home, 'r')
    try {
      const result = spawnSync(process.execPath, [crierBin, 'draft', '-', '--severity', 'Minor'], {env: home.env, stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000})
      expect(result.status, result.stderr).toBe(2)
      expect(result.stderr).toBe('Error: stdin is a directory — pipe or redirect the file with the text (crier draft - < text.txt)\n')
    } finally {
      closeSync(fd)
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
