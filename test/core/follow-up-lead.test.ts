import {describe, expect, it} from 'vitest'
import {smsTextFor} from '../../src/channels/sms-text.js'
import {followUpLead} from '../../src/core/follow-up-lead.js'
import {makeAnnouncement} from '../helpers/announcement.js'

describe('what a follow-up says before its headline', () => {
  const cancel = makeAnnouncement({
    msgType: 'Cancel',
    severity: 'Minor',
    variants: [
      {language: 'en-GB', headline: 'Flood warning for Llanrwst', description: 'Disregard the flood warning.'},
      {language: 'cy-GB', headline: 'Canslwyd: Rhybudd llifogydd Llanrwst', description: 'Anwybyddwch y rhybudd llifogydd.'},
    ],
  })

  it('says Cancelled/Update before an English headline that does not say it already', () => {
    expect(followUpLead(cancel, 'Flood warning for Llanrwst', 'en-GB')).toBe('Cancelled: ')
    expect(followUpLead(cancel, 'Cancelled: Flood warning', 'en')).toBe('')
    expect(followUpLead({...cancel, msgType: 'Update'}, 'Road reopened', 'en')).toBe('Update: ')
  })

  it('adds no English word before a headline in another language: its officer wrote what it is', () => {
    expect(followUpLead(cancel, 'Canslwyd: Rhybudd llifogydd Llanrwst', 'cy-GB')).toBe('')
    expect(smsTextFor(cancel, cancel.variants[1]!)).toMatch(/^Canslwyd: Rhybudd llifogydd Llanrwst\. /)
    expect(smsTextFor(cancel, cancel.variants[0]!)).toMatch(/^Cancelled: Flood warning for Llanrwst\. /)
  })
})
