import {chmodSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import pty from 'node-pty'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {crierBin, jsonOf, makeCrierHome, storeFacts, type CrierHome} from '../helpers/cli.js'

// Guided drafting under a real pseudo-terminal: the built CLI is spawned with node-pty, each
// prompt is awaited on the screen and answered with keys, and the result is read back from the
// store. Waits are bounded: a prompt that never comes fails the test with the screen so far.

const down = '\u001b[B'
const up = '\u001b[A'
const enter = '\r'
const ctrlC = '\u0003'
const backspace = '\u007f'

const twoChannels = `channels:
  website: {type: feed, dir: ./public}
  intranet: {type: feed, dir: ./intranet}
`

/** The screen as text: CSI and OSC sequences removed, carriage returns dropped. */
function plain(raw: string): string {
  return raw.replace(/\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g, '').replace(/\r/g, '')
}

interface Session {
  /** Waits until `text` appears after the previous match (prompts re-render, so old screens are skipped). */
  waitFor(text: string | RegExp): Promise<void>
  /** Waits for the prompt, then types `keys`. */
  answer(prompt: string | RegExp, keys: string): Promise<void>
  write(keys: string): void
  screen(): string
  exitCode: Promise<number>
}

const waitLimitMs = 30_000
const running = new Set<pty.IPty>()

// A failed test may leave crier waiting at a prompt: stop it (only the ones this file started).
afterEach(() => {
  for (const child of running) child.kill()
  running.clear()
})

function crierOnTerminal(home: CrierHome, args: string[], env: NodeJS.ProcessEnv = {}): Session {
  return onTerminal(process.execPath, [crierBin, ...args], {...home.env, TERM: 'xterm-256color', ...env}, home.home)
}

function onTerminal(file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Session {
  const child = pty.spawn(file, args, {name: 'xterm-256color', cols: 100, rows: 30, cwd, env: env as Record<string, string>})
  running.add(child)
  let raw = ''
  let searchFrom = 0
  child.onData((data) => (raw += data))
  let exited = false
  const exitCode = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill()
      reject(new Error(`crier did not exit within ${waitLimitMs} ms; screen:\n${plain(raw)}`))
    }, waitLimitMs)
    child.onExit(({exitCode: code}) => {
      exited = true
      running.delete(child)
      clearTimeout(timer)
      resolve(code)
    })
  })
  // A test that fails before awaiting the exit must not also report an unhandled rejection.
  exitCode.catch(() => {})
  const session: Session = {
    async waitFor(text) {
      const deadline = Date.now() + waitLimitMs
      for (;;) {
        const screen = plain(raw).slice(searchFrom)
        const index = typeof text === 'string' ? screen.indexOf(text) : screen.search(text)
        if (index >= 0) {
          const length = typeof text === 'string' ? text.length : (screen.slice(index).match(text)?.[0].length ?? 0)
          searchFrom += index + length
          return
        }
        if (exited || Date.now() > deadline) throw new Error(`"${String(text)}" never appeared${exited ? ' (crier exited)' : ''}; screen:\n${plain(raw)}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    async answer(prompt, keys) {
      await session.waitFor(prompt)
      child.write(keys)
    },
    write: (keys) => child.write(keys),
    screen: () => plain(raw),
    exitCode,
  }
  return session
}

function announcements(home: CrierHome): any[] {
  return jsonOf(home.run(['list', '--json']))
}

describe('crier draft on a terminal asks for what is missing', () => {
  let home: CrierHome
  beforeEach(() => {
    home = makeCrierHome()
    home.writeConfig(twoChannels)
  })
  afterEach(() => home.cleanup())

  it('asks each missing field, re-asks an invalid expiry, and creates exactly what was answered', async () => {
    const session = crierOnTerminal(home, ['draft'])
    await session.answer('? Text', `The A55 is closed westbound at J11.${enter}`)
    await session.waitFor('The A55 is closed westbound at J11.')
    session.write(`Use the A5 instead.${enter}`)
    await session.waitFor('Use the A5 instead.')
    session.write(enter) // the empty line ends the text
    await session.answer('? Headline (The A55 is closed westbound at J11.)', enter)
    // Enter alone chooses nothing: the severity is typed, by its number.
    await session.answer('? Severity', enter)
    await session.waitFor('Please input a value')
    session.write(`3${enter}`) // 1 Extreme, 2 Severe, 3 Moderate
    await session.answer('? Urgency', `${up}${up}${up}${enter}`) // starts on Unknown → Expected
    await session.answer('? Certainty', `${up}${up}${up}${up}${enter}`) // Unknown → Observed
    await session.answer('? Channels', `${down} ${enter}`) // untick intranet
    await session.answer('? Expires', `soon${enter}`)
    await session.waitFor('"soon" is not a time — use ISO 8601')
    session.write(`${backspace.repeat(4)}+2h${enter}`)
    await session.waitFor('Severity Moderate · urgency Expected · certainty Observed')
    await session.waitFor(/website \(feed\) +2 parts, no length limit/)
    await session.waitFor('Policy: no findings.')
    await session.answer('? Create this draft?', enter)
    await session.waitFor(/Draft \w+ created \(Moderate\)/)
    expect(await session.exitCode, session.screen()).toBe(0)
    expect(session.screen()).not.toMatch(/intranet \(feed\) +2 parts/)

    const [listed, ...others] = announcements(home)
    expect(others).toHaveLength(0)
    const draft = jsonOf(home.run(['show', listed.id, '--json']))
    expect(draft).toMatchObject({
      state: 'draft',
      severity: 'Moderate',
      urgency: 'Expected',
      certainty: 'Observed',
      channels: ['website'],
      headline: 'The A55 is closed westbound at J11.',
    })
    expect(draft.variants[0].description).toBe('The A55 is closed westbound at J11.\nUse the A5 instead.')
    expect(draft.expiresAt - draft.createdAt).toBe(2 * 3600_000)
  })

  it('opens $EDITOR for the text and asks only what the flags left out', async () => {
    const editor = join(home.home, 'fake-editor.sh')
    writeFileSync(editor, `#!/bin/sh\nprintf 'Water supply restored in Llandudno. Boil notice lifted.\\n' > "$1"\n`)
    chmodSync(editor, 0o700)
    const session = crierOnTerminal(home, ['draft', '--severity', 'Minor', '--channel', 'website'], {EDITOR: editor})
    await session.answer('? Headline (Water supply restored in Llandudno.)', `Water back on in Llandudno${enter}`)
    await session.answer('? Urgency', enter)
    await session.answer('? Certainty', enter)
    await session.answer('? Expires', enter) // the default, +6h
    await session.waitFor('Severity Minor · urgency Unknown · certainty Unknown')
    await session.answer('? Create this draft?', `y${enter}`)
    expect(await session.exitCode, session.screen()).toBe(0)
    expect(session.screen()).toContain(`Opening ${editor}`)
    expect(session.screen()).not.toContain('? Severity')
    expect(session.screen()).not.toContain('? Channels')

    const [listed] = announcements(home)
    const draft = jsonOf(home.run(['show', listed.id, '--json']))
    expect(draft).toMatchObject({severity: 'Minor', urgency: 'Unknown', certainty: 'Unknown', channels: ['website'], headline: 'Water back on in Llandudno'})
    expect(draft.variants[0].description).toBe('Water supply restored in Llandudno. Boil notice lifted.')
    expect(draft.expiresAt - draft.createdAt).toBe(6 * 3600_000)
  })

  it('asks for the area when the policy requires it', async () => {
    home.writeConfig(`${twoChannels}policy:\n  content: {requireFields: [area]}\n`)
    const session = crierOnTerminal(home, ['draft', 'Flooding on the promenade.', '--severity', 'Moderate', '--channel', 'website', '--expires', '+3h'])
    await session.answer('? Headline', enter)
    await session.answer('? Urgency', enter)
    await session.answer('? Certainty', enter)
    await session.answer('? Area', enter) // required: refused empty
    await session.waitFor('type something, or press Ctrl-C to stop')
    session.write(`Rhyl seafront${enter}`)
    await session.waitFor('Area: Rhyl seafront')
    await session.answer('? Create this draft?', enter)
    expect(await session.exitCode, session.screen()).toBe(0)
    const [listed] = announcements(home)
    expect(jsonOf(home.run(['show', listed.id, '--json'])).area.description).toBe('Rhyl seafront')
  })

  it('Ctrl-C at a prompt exits 130 with one line and leaves nothing in the store', async () => {
    const session = crierOnTerminal(home, ['draft', 'The A55 is closed.'])
    await session.answer('? Headline', enter)
    await session.answer('? Severity', ctrlC)
    expect(await session.exitCode, session.screen()).toBe(130)
    expect(session.screen().trimEnd().split('\n').at(-1)).toBe('Cancelled — no draft was created.')
    expect(storeFacts(home)).toMatchObject({integrity: 'ok', announcements: 0})
  })

  it('Ctrl-C at the final confirm, after the summary was shown, leaves nothing in the store', async () => {
    const session = crierOnTerminal(home, ['draft', 'The A55 is closed.', '--severity', 'Minor', '--urgency', 'Expected', '--certainty', 'Observed', '--channel', 'website'])
    await session.answer('? Headline', enter)
    await session.answer('? Expires', enter)
    await session.waitFor('Approval: not needed.')
    await session.answer('? Create this draft?', ctrlC)
    expect(await session.exitCode, session.screen()).toBe(130)
    expect(storeFacts(home)).toMatchObject({integrity: 'ok', announcements: 0})
  })

  it('answering no at the final confirm creates nothing', async () => {
    const session = crierOnTerminal(home, ['draft', 'The A55 is closed.', '--severity', 'Severe'])
    await session.answer('? Headline', enter)
    await session.answer('? Urgency', enter)
    await session.answer('? Certainty', enter)
    await session.answer('? Channels', enter)
    await session.answer('? Expires', enter)
    await session.waitFor('Approval: 1 needed before it can be broadcast.')
    await session.answer('? Create this draft?', `n${enter}`)
    await session.waitFor('Nothing created.')
    expect(await session.exitCode, session.screen()).toBe(0)
    expect(storeFacts(home)).toMatchObject({integrity: 'ok', announcements: 0})
  })

  it('asks nothing when every field is given', async () => {
    const args = ['draft', 'Road reopened.', '--severity', 'Minor', '--urgency', 'Past', '--certainty', 'Observed', '--channel', 'website', '--expires', '+1h']
    const session = crierOnTerminal(home, args)
    expect(await session.exitCode, session.screen()).toBe(0)
    expect(session.screen()).not.toContain('?')
    expect(session.screen()).toMatch(/^Draft \w+ created \(Minor\)/)
    expect(announcements(home)).toHaveLength(1)
  })
})

describe('crier draft on a terminal, refusing instead of asking', () => {
  let home: CrierHome
  beforeEach(() => {
    home = makeCrierHome()
    home.writeConfig(twoChannels)
  })
  afterEach(() => home.cleanup())

  it('CRIER_NO_PROMPT=1 makes a missing severity exit 2 naming the flag', async () => {
    const session = crierOnTerminal(home, ['draft', 'Road closed.'], {CRIER_NO_PROMPT: '1'})
    expect(await session.exitCode).toBe(2)
    expect(session.screen().trim()).toBe('Error: --severity is required — one of Extreme, Severe, Moderate, Minor, Unknown')
  })

  it('--no-input makes a missing text exit 2 naming how to give it', async () => {
    const session = crierOnTerminal(home, ['draft', '--no-input', '--severity', 'Minor'])
    expect(await session.exitCode).toBe(2)
    expect(session.screen().trim()).toBe('Error: no announcement text — give it as an argument, with --file, or on stdin (-)')
  })

  it('--json makes a missing channel exit 2 naming the flag', async () => {
    const session = crierOnTerminal(home, ['draft', 'Road closed.', '--severity', 'Minor', '--json'])
    expect(await session.exitCode).toBe(2)
    expect(session.screen().trim()).toBe('Error: --channel is required — one or more of website, intranet')
  })

  it('refuses a mistyped flag before asking anything', async () => {
    const session = crierOnTerminal(home, ['draft', 'Road closed.', '--severity', 'Severest'])
    expect(await session.exitCode).toBe(2)
    expect(session.screen().trim()).toBe('Error: --severity "Severest" is not valid — use one of Extreme, Severe, Moderate, Minor, Unknown')
  })

  it('does not prompt when stdout is not a terminal, even with stdin on one', async () => {
    const out = join(home.home, 'out.txt')
    const command = `exec ${process.execPath} ${crierBin} draft 'Road closed.' > ${out}`
    const session = onTerminal('/bin/sh', ['-c', command], {...home.env, TERM: 'xterm-256color'}, home.home)
    expect(await session.exitCode).toBe(2)
    expect(session.screen().trim()).toBe('Error: --severity is required — one of Extreme, Severe, Moderate, Minor, Unknown')
    expect(storeFacts(home).announcements).toBe(0)
  })
})
