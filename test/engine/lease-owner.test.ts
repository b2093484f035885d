import {spawn} from 'node:child_process'
import {readlinkSync} from 'node:fs'
import {hostname} from 'node:os'
import {describe, expect, it} from 'vitest'
import {isAbandonedOwner, newLeaseOwner} from '../../src/engine/lease-owner.js'

// Whose leases may be taken over at once: only those of a process that is provably gone —
// same host, same boot and pid namespace, no such pid. Containers sharing a host name each
// count pids from 1, so a pid from another namespace proves nothing.

const onLinux = (() => {
  try {
    return readlinkSync('/proc/self/ns/pid').startsWith('pid:')
  } catch {
    return false
  }
})()

async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'])
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid!
}

describe('lease owners', () => {
  it('name the host, pid, a random tag and (on Linux) the boot and pid namespace', () => {
    const owner = newLeaseOwner()
    const [host, pid, tag, namespace] = owner.split(':')
    expect([host, Number(pid)]).toEqual([hostname(), process.pid])
    expect(tag).toMatch(/^[0-9a-f]{8}$/)
    if (onLinux) expect(namespace).toMatch(/^[0-9a-f]{8}-\d+$/)
    expect(newLeaseOwner()).not.toBe(owner)
  })

  it('a process of this host and namespace that has exited has abandoned its leases; a live one has not', async () => {
    const self = newLeaseOwner()
    const namespace = self.split(':')[3]
    const gone = await exitedPid()
    expect(isAbandonedOwner([hostname(), gone, 'abcd1234', namespace].filter((part) => part !== undefined).join(':'), self)).toBe(true)
    expect(isAbandonedOwner([hostname(), process.ppid, 'abcd1234', namespace].filter((part) => part !== undefined).join(':'), self)).toBe(false)
    expect(isAbandonedOwner(self, self)).toBe(false)
  })

  it('a pid counted in another pid namespace or boot, or on another host, is never taken for dead', async () => {
    const self = newLeaseOwner()
    const gone = await exitedPid()
    // The same pid as this process, in a container next to it: alive there, whatever it is here.
    expect(isAbandonedOwner(`${hostname()}:${process.pid}:abcd1234:00000000-1`, self)).toBe(false)
    expect(isAbandonedOwner(`${hostname()}:${gone}:abcd1234:00000000-1`, self)).toBe(false)
    expect(isAbandonedOwner(`elsewhere.example:${gone}:abcd1234`, self)).toBe(false)
  })
})
