import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import pty from 'node-pty'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {crierBin, makeCrierHome, storeFacts, type CliResult, type CrierHome} from '../helpers/cli.js'

// Off a terminal `crier draft` never prompts: missing input is exit 2 with one line naming the
// flag, at once. Every run here has a timeout, so a prompt waiting on stdin fails the test
// (status null) instead of hanging it. And when nothing is asked, @inquirer/prompts is not
// even loaded: measured with a module-resolution hook that logs what it resolves.

const twoChannels = `channels:
  website: {type: feed, dir: ./public}
  intranet: {type: feed, dir: ./intranet}
`
const noText = 'Error: no announcement text — give it as an argument, with --file, or on stdin (-)'
const noSeverity = 'Error: --severity is required — one of Extreme, Severe, Moderate, Minor, Unknown'
const noChannel = 'Error: --channel is required — one or more of website, intranet'

/** Runs crier with stdin as given: 'ignore' is /dev/null, a string is a pipe holding it. */
function runWith(home: CrierHome, args: string[], stdin: 'ignore' | string, extraNodeArgs: string[] = []): CliResult {
  const result = spawnSync(process.execPath, [...extraNodeArgs, crierBin, ...args], {
    env: home.env,
    cwd: home.home,
    encoding: 'utf8',
    timeout: 30_000,
    ...(stdin === 'ignore' ? {stdio: ['ignore', 'pipe', 'pipe']} : {input: stdin}),
  })
  return {status: result.status, stdout: result.stdout, stderr: result.stderr}
}

function refused(result: CliResult, line: string): void {
  const explain = `exit ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
  expect(result.status, explain).toBe(2)
  expect(result.stdout, explain).toBe('')
  expect(result.stderr.trimEnd(), explain).toBe(line)
}

describe('crier draft off a terminal', () => {
  let home: CrierHome
  beforeEach(() => {
    home = makeCrierHome()
    home.writeConfig(twoChannels)
  })
  afterEach(() => home.cleanup())

  it('with stdin on /dev/null and no text, exits 2 naming how to give the text', () => {
    refused(runWith(home, ['draft', '--severity', 'Minor', '--channel', 'website'], 'ignore'), noText)
  })

  it('with stdin closed and no text, exits 2 naming how to give the text', () => {
    const result = spawnSync('/bin/sh', ['-c', `exec "${process.execPath}" "${crierBin}" draft --severity Minor --channel website <&-`], {env: home.env, encoding: 'utf8', timeout: 30_000})
    refused({status: result.status, stdout: result.stdout, stderr: result.stderr}, noText)
  })

  it('with the text but no severity, exits 2 naming --severity', () => {
    refused(runWith(home, ['draft', 'Road closed.', '--channel', 'website'], 'ignore'), noSeverity)
  })

  it('with piped text but no channel (two configured), exits 2 naming --channel', () => {
    refused(runWith(home, ['draft', '-', '--severity', 'Minor'], 'Road closed.'), noChannel)
    expect(storeFacts(home)).toMatchObject({integrity: 'ok', announcements: 0})
  })

  it('a script piping the text with every flag gets the draft and one line, as before', () => {
    const args = ['draft', '--severity', 'Moderate', '--urgency', 'Expected', '--certainty', 'Observed', '--channel', 'website', '--expires', '+6h', '--area', 'Bangor']
    const result = runWith(home, args, 'The A55 is closed westbound.\n')
    expect(result.status, result.stderr).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toMatch(/^Draft \w{12} created \(Moderate\)\. Next: crier preview \w{12}\n$/)
    expect(storeFacts(home).announcements).toBe(1)
  })

  it('a script leaving urgency, certainty and expiry out still gets the old defaults, unasked', () => {
    const result = runWith(home, ['draft', '-', '--severity', 'Minor', '--channel', 'website', '--json'], 'Water restored.')
    expect(result.status, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({urgency: 'Unknown', certainty: 'Unknown', category: 'Other'})
    expect(JSON.parse(result.stdout).expiresAt).toBeUndefined()
  })
})

describe('@inquirer/prompts is loaded only when crier asks something', () => {
  let home: CrierHome
  let hookLog: string
  let register: string
  beforeEach(() => {
    home = makeCrierHome()
    home.writeConfig(twoChannels)
    hookLog = join(home.home, 'resolved.log')
    const hooks = join(home.home, 'hooks.mjs')
    writeFileSync(
      hooks,
      `import {appendFileSync} from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  if (result.url.includes('/@inquirer/')) appendFileSync(${JSON.stringify(hookLog)}, result.url + '\\n')
  return result
}
`,
    )
    register = join(home.home, 'register.mjs')
    writeFileSync(register, `import {register} from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`)
  })
  afterEach(() => home.cleanup())

  const resolvedInquirer = () => (existsSync(hookLog) ? readFileSync(hookLog, 'utf8') : '')

  it('is not loaded by a draft with every answer on the command line', () => {
    const result = runWith(home, ['draft', 'Road closed.', '--severity', 'Minor', '--channel', 'website'], 'ignore', ['--import', pathToFileURL(register).href])
    expect(result.status, result.stderr).toBe(0)
    expect(resolvedInquirer()).toBe('')
  })

  it('is not loaded by a refused draft off a terminal', () => {
    const result = runWith(home, ['draft', 'Road closed.'], 'ignore', ['--import', pathToFileURL(register).href])
    expect(result.status).toBe(2)
    expect(resolvedInquirer()).toBe('')
  })

  it('is loaded when there is something to ask (the hook does see it)', async () => {
    const child = pty.spawn(process.execPath, ['--import', pathToFileURL(register).href, crierBin, 'draft', 'Road closed.', '--severity', 'Minor', '--channel', 'website'], {
      cols: 100,
      rows: 30,
      cwd: home.home,
      env: {...home.env, TERM: 'xterm-256color'} as Record<string, string>,
    })
    let screen = ''
    child.onData((data) => (screen += data))
    let hasExited = false
    const exited = new Promise<number>((resolve) =>
      child.onExit(({exitCode}) => {
        hasExited = true
        resolve(exitCode)
      }),
    )
    try {
      for (let waited = 0; !screen.includes('Headline') && waited < 30_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
      expect(screen).toContain('Headline')
      child.write('\u0003')
      expect(await exited).toBe(130)
    } finally {
      if (!hasExited) child.kill()
    }
    expect(resolvedInquirer()).toMatch(/\/@inquirer\/prompts\//)
  })
})
