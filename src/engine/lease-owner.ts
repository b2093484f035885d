import {randomBytes} from 'node:crypto'
import {readFileSync, readlinkSync} from 'node:fs'
import {hostname} from 'node:os'

// A lease owner names the process holding a claim: host, pid, a random tag (pids are reused)
// and the pid namespace it counts in. A process of this host and namespace that no longer
// exists has abandoned its leases: they can be resolved at once instead of waiting for the
// lease to run out. Containers that share a host name (host networking) each count pids from
// 1: a pid in another namespace says nothing here, so its leases are waited out.

/** This boot and pid namespace ("3f2a9c1e-4026531836"), or '' where it cannot be read (not Linux). */
function readPidNamespace(): string {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8)
    const namespace = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1]
    return boot && namespace ? `${boot}-${namespace}` : ''
  } catch {
    return ''
  }
}

const pidNamespace = readPidNamespace()

export function newLeaseOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}${pidNamespace ? `:${pidNamespace}` : ''}`
}

/**
 * Which boot of this host the owner ran in: `this` one (what it wrote to files without syncing
 * them survived its end), an `earlier` one (it is certainly gone), or undefined where that
 * cannot be told (another host, no boot id recorded, not Linux).
 */
export function bootOfOwner(owner: string): 'this' | 'earlier' | undefined {
  const [host, , , namespace] = owner.split(':')
  if (!pidNamespace || host !== hostname() || namespace === undefined) return undefined
  return bootOf(namespace) === bootOf(pidNamespace) ? 'this' : 'earlier'
}

function bootOf(namespace: string): string {
  return namespace.split('-')[0]!
}

export function isAbandonedOwner(owner: string | null, self: string): boolean {
  if (!owner || owner === self) return false
  const [host, pidText, _tag, namespace] = owner.split(':')
  const pid = Number(pidText)
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false
  // Another boot or pid namespace (or one of them unknown, an owner written before crier named
  // namespaces aside): its pid cannot be looked up here.
  if ((namespace ?? '') !== pidNamespace && namespace !== undefined) return false
  if (pid === process.pid) return true // this pid is ours: whoever held it before us is gone
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    // EPERM: it exists but is someone else's. Only ESRCH proves it is gone.
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
