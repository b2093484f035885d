import {afterEach, describe, expect, it} from 'vitest'
import {makeCrierHome, type CrierHome} from '../helpers/cli.js'

// A bilingual force's officer previews what each reader gets: on an SMS channel, the English
// and the Welsh text, each counted (ŵ makes it UCS-2), and on a Welsh-language account the Welsh.

let home: CrierHome | undefined
afterEach(() => {
  home?.cleanup()
  home = undefined
})

describe('preview of a bilingual announcement', () => {
  it('shows the SMS each language’s readers get, with its count; a Welsh-language channel posts the Welsh', () => {
    home = makeCrierHome()
    home.writeConfig(
      [
        'languages: [en-GB, cy-GB]',
        'channels:',
        '  website: {type: feed, dir: ./public}',
        '  partners-cy: {type: webhook, url: "http://127.0.0.1:9/cy", language: cy-GB}',
        '  texts: {type: sms, accountSid: AC00000000000000000000000000000000, authToken: "${TWILIO_TOKEN}", from: "+447700900999", baseUrl: "http://127.0.0.1:9", audience: residents}',
        '',
      ].join('\n'),
    )
    const drafted = home.run(['draft', '-', '--severity', 'Minor', '--headline', 'A55 closed', '--channel', 'texts,partners-cy', '--json'], {input: 'The A55 is closed westbound. Use the A5.'})
    expect(drafted.status, drafted.stderr).toBe(0)
    const id = JSON.parse(drafted.stdout).id as string
    // Before the Welsh is added, the Welsh-language channel would post the English: a warning.
    const englishOnly = home.run(['preview', id])
    expect(englishOnly.stdout).toContain(`Policy warning: partners-cy posts in cy-GB, but this has no cy-GB text: it would post the en-GB — add it: crier edit ${id.slice(0, 12)} --lang cy-GB --headline … --text …`)
    expect(home.run(['edit', id, '--lang', 'cy-GB', '--headline', 'A55 ar gau', '--text', 'Mae’r A55 ar gau tua’r gorllewin. Defnyddiwch yr A5. Ŵyr.']).status).toBe(0)

    const shown = home.run(['preview', id])
    expect(shown.stdout).toContain('── texts (sms, en-GB readers) ──\nSMS — GSM-7, 1 segment (60 chars)  [1/3 sms-segments]\n[Minor] A55 closed. The A55 is closed westbound. Use the A5.\n')
    expect(shown.stdout).toContain('── texts (sms, cy-GB readers) ──\nSMS — UCS-2 (because of Ŵ), 2 segments (77 chars)  [2/3 sms-segments]\n[Minor] A55 ar gau. Mae\'r A55 ar gau tua\'r gorllewin. Defnyddiwch yr A5. Ŵyr.\n') // ’ sent as ': GSM-7 has no ’
    expect(shown.stdout).not.toContain('partners-cy posts in cy-GB')
    // The secret this shell lacks is noted once, though the channel is shown once per language.
    expect(shown.stderr.match(/Note: texts cannot send from this shell/g)).toHaveLength(1)

    const json = JSON.parse(home.run(['preview', id, '--json']).stdout)
    expect(json.channels.map((c: {channel: string; language?: string}) => [c.channel, c.language ?? null])).toEqual([
      ['texts', 'en-GB'],
      ['texts', 'cy-GB'],
      ['partners-cy', null],
    ])
    const posted = JSON.parse(json.channels[2].parts[0].text)
    expect(posted).toMatchObject({language: 'cy-GB', headline: 'A55 ar gau'})
  })
})
