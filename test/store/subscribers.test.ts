import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {openStore, type Store} from '../../src/store/index.js'
import type {SubscriberInput} from '../../src/store/subscribers.js'

// An opt-out belongs to a contact: the store says which of a subscriber's contacts it stops.

let dir: string
let store: Store

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crier-subscribers-'))
  store = openStore(join(dir, 'crier.db'))
})

afterEach(() => {
  store.close()
  rmSync(dir, {recursive: true, force: true})
})

const subscriber = (name: string, email: string | null, phone: string | null): SubscriberInput => ({list: 'residents', name, email, phone, language: null, lat: null, lon: null, zone: null, tags: []})

describe('subscriber opt-outs, per contact', () => {
  beforeEach(() => {
    store.transaction(() => {
      store.subscribers.upsert(subscriber('Ann', 'ann@example.com', '+447700900111'), 1)
      store.subscribers.upsert(subscriber('Bob', 'bob@example.com', null), 1)
      store.subscribers.upsert(subscriber('Cat', null, '+447700900333'), 1)
    })
    store.subscribers.optOut('ann@example.com', 'test', 2)
    store.subscribers.optOut('+447700900333', 'test', 2)
  })

  it('a subscriber shows which contact is opted out; the other still gets messages', () => {
    expect([...store.subscribers.iterateList('residents')].map((s) => [s.name, s.emailOptedOut, s.phoneOptedOut])).toEqual([
      ['Ann', true, false],
      ['Bob', false, false],
      ['Cat', false, true],
    ])
  })

  it('counts each list per contact', () => {
    expect(store.subscribers.listContactCounts()).toEqual([
      {list: 'residents', subscribers: 3, optedOut: 2, emails: 2, phones: 2, emailsOptedOut: 1, phonesOptedOut: 1},
    ])
  })

  it('matchContacts finds the subscribers holding a row\'s contacts; upsertMatched returns the id it wrote', () => {
    const row = subscriber('Ann again', 'ann@example.com', '+447700900333')
    const match = store.subscribers.matchContacts(row)
    expect(match).toEqual({emailId: 1, phoneId: 3})
    expect(store.subscribers.upsertMatched(row, match, 3)).toEqual({outcome: 'conflict'})
    const dan = subscriber('Dan', 'dan@example.com', null)
    expect(store.subscribers.upsertMatched(dan, store.subscribers.matchContacts(dan), 3)).toEqual({outcome: 'inserted', id: 4})
    const bob = subscriber('Robert', 'bob@example.com', null)
    expect(store.subscribers.upsertMatched(bob, store.subscribers.matchContacts(bob), 3)).toEqual({outcome: 'updated', id: 2})
  })
})
