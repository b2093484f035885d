import {expect} from 'vitest'
import {jsonOf, type CliResult, type CrierHome} from './cli.js'

// Assertions the end-to-end tests share: a command succeeded, or was refused the documented way.

/** The status, stdout and stderr of a run, for failure messages. */
export function explain(result: CliResult): string {
  return `exit ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
}

export function ok(result: CliResult): CliResult {
  return exited(result, 0)
}

/** A run that ended with `status` (preview with a policy error: 3, its output all there). */
export function exited(result: CliResult, status: number): CliResult {
  expect(result.status, explain(result)).toBe(status)
  return result
}

/** A refusal: the exit code, one `Error: …` line on stderr, no stack trace, nothing on stdout. */
export function refused(result: CliResult, exitCode: number, message: RegExp): void {
  expect(result.status, explain(result)).toBe(exitCode)
  expect(result.stdout).toBe('')
  const lines = result.stderr.split('\n').filter((line) => line !== '')
  expect(lines, explain(result)).toHaveLength(1)
  expect(lines[0]).toMatch(/^Error: /)
  expect(lines[0]).toMatch(message)
  expect(result.stderr).not.toMatch(/^ {4}at /m)
}

/** Drafts with --json and returns the created announcement. */
export function draft(home: CrierHome, args: string[], options?: {input?: string; env?: NodeJS.ProcessEnv}): any {
  return jsonOf(ok(home.run(['draft', ...args, '--json'], options)))
}

export function show(home: CrierHome, id: string, env?: NodeJS.ProcessEnv): any {
  return jsonOf(ok(home.run(['show', id, '--json'], {env})))
}

/** Two feed channels, so --channel has something to choose from. */
export const twoChannelConfig = `
sender: alerts@northwales.example
senderName: North Wales Police
languages: [en-GB, cy-GB]
channels:
  website:  { type: feed, dir: ./public/website, baseUrl: https://northwales.example/alerts }
  intranet: { type: feed, dir: ./public/intranet }
`
