import {describe, expect, it} from 'vitest'
import {configFileSchema} from '../../../src/config/schema.js'
import type {Config} from '../../../src/config/load.js'
import {draftQuestions, type GivenDraft} from '../../../src/cli/prompts/draft-questions.js'

// Which questions guided drafting asks for which command line: only what is missing, in a
// fixed order, and nothing at all when nothing is missing.

function configWith(channelNames: string[], requireFields: string[] = []): Pick<Config, 'channels' | 'policy'> {
  const channels = Object.fromEntries(channelNames.map((name) => [name, {name, type: 'feed'}])) as unknown as Config['channels']
  return {channels, policy: configFileSchema.shape.policy.parse({content: {requireFields}})}
}

const everything: GivenDraft = {text: 'Road closed.', headline: 'Road closed', severity: 'Minor', urgency: 'Expected', certainty: 'Observed', expires: '+6h', channels: ['website']}
const two = configWith(['website', 'intranet'])

describe('draftQuestions', () => {
  it('asks everything, in order, when only `crier draft` was typed', () => {
    expect(draftQuestions({channels: []}, two)).toEqual(['text', 'headline', 'severity', 'urgency', 'certainty', 'channels', 'expires'])
  })

  it('asks nothing when every field is given', () => {
    expect(draftQuestions(everything, two)).toEqual([])
  })

  it('does not start an interview for a missing headline alone', () => {
    expect(draftQuestions({...everything, headline: undefined}, two)).toEqual([])
  })

  it('asks the headline alongside another missing field', () => {
    expect(draftQuestions({...everything, headline: undefined, severity: undefined}, two)).toEqual(['headline', 'severity'])
    expect(draftQuestions({...everything, severity: undefined}, two)).toEqual(['severity'])
  })

  it('does not ask for channels when only one is configured', () => {
    expect(draftQuestions({...everything, channels: []}, configWith(['website']))).toEqual([])
    expect(draftQuestions({text: 'Road closed.', channels: []}, configWith(['website']))).toEqual(['headline', 'severity', 'urgency', 'certainty', 'expires'])
  })

  it('asks for channels when none are given and several are configured', () => {
    expect(draftQuestions({...everything, channels: []}, two)).toEqual(['channels'])
  })

  it('treats blank values as missing', () => {
    expect(draftQuestions({...everything, urgency: ' ', expires: ''}, two)).toEqual(['urgency', 'expires'])
  })

  it('asks for the fields the policy requires, when they are missing', () => {
    const strict = configWith(['website', 'intranet'], ['area', 'instruction', 'web', 'headline', 'event', 'expires'])
    expect(draftQuestions(everything, strict)).toEqual(['area', 'instruction', 'web'])
    expect(draftQuestions({...everything, area: 'Bangor', instruction: 'Avoid the area.', web: 'https://example.org/'}, strict)).toEqual([])
  })

  it('does not ask for optional fields the policy does not require', () => {
    expect(draftQuestions({...everything, severity: undefined}, two)).not.toContain('area')
  })
})
