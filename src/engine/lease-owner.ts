import {randomBytes} from 'node:crypto'
import {hostname} from 'node:os'

// A lease owner names the process holding a claim: host, pid and a random tag (pids are reused).
// A process on this host that no longer exists has abandoned its leases: they can be resolved
// at once instead of waiting for the lease to run out.

export function newLeaseOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
}

export function isAbandonedOwner(owner: string | null, self: string): boolean {
  if (!owner || owner === self) return false
  const [host, pidText] = owner.split(':')
  const pid = Number(pidText)
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false
  if (pid === process.pid) return true // an earlier dispatcher in this same process
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    // EPERM: it exists but is someone else's. Only ESRCH proves it is gone.
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
