import {describe, expect, it} from 'vitest'
import {canPrompt, type PromptSurroundings} from '../../../src/cli/prompts/can-prompt.js'

const terminal: PromptSurroundings = {stdinIsTTY: true, stdoutIsTTY: true, json: false, noInput: false, env: {}, foreground: () => true}

describe('canPrompt', () => {
  it('prompts a person at a terminal', () => {
    expect(canPrompt(terminal)).toBe(true)
  })

  it.each([
    ['stdin is not a terminal (piped text, cron)', {stdinIsTTY: false}],
    ['stdout is not a terminal (output piped or redirected)', {stdoutIsTTY: false}],
    ['--json', {json: true}],
    ['--no-input', {noInput: true}],
    ['CRIER_NO_PROMPT=1', {env: {CRIER_NO_PROMPT: '1'}}],
    ['CRIER_NO_PROMPT=true', {env: {CRIER_NO_PROMPT: 'true'}}],
    ['CI=true (a CI job given a pseudo-terminal)', {env: {CI: 'true'}}],
    ['CI=1', {env: {CI: '1'}}],
    ['it runs in the background (timeout without --foreground, &)', {foreground: () => false}],
  ])('does not prompt when %s', (_why, change) => {
    expect(canPrompt({...terminal, ...change})).toBe(false)
  })

  it.each(['', '0', 'false'])('still prompts with CRIER_NO_PROMPT=%j or CI=%j', (value) => {
    expect(canPrompt({...terminal, env: {CRIER_NO_PROMPT: value}})).toBe(true)
    expect(canPrompt({...terminal, env: {CI: value}})).toBe(true)
  })
})
