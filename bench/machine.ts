import {statfsSync} from 'node:fs'
import {cpus, freemem, release, totalmem} from 'node:os'

// What the figures were measured on, printed first: a figure without its machine means little.

// statfs(2) f_type magic numbers of the file systems a temp dir is likely to be on; the fsync
// cost of every SQLite commit (synchronous = FULL) depends on it.
const fileSystems: Record<number, string> = {
  0x01021994: 'tmpfs (fsync is free)',
  0xef53: 'ext2/3/4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
  0x6a656a63: 'virtiofs',
  0x65735546: 'fuse',
}

export function describeMachine(tempRoot: string): string[] {
  const processors = cpus()
  const models = [...new Set(processors.map((cpu) => cpu.model.trim()))].join(', ') || 'unknown'
  const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`
  let fileSystem = 'unknown'
  try {
    const type = statfsSync(tempRoot).type
    fileSystem = fileSystems[type] ?? `type 0x${type.toString(16)}`
  } catch {
    // statfs is not available everywhere; the figure stands without it.
  }
  return [
    `CPU:      ${models} × ${processors.length}`,
    `memory:   ${gib(totalmem())} (${gib(freemem())} free)`,
    `Node:     ${process.version} (V8 ${process.versions.v8}, SQLite via better-sqlite3)`,
    `platform: ${process.platform} ${process.arch}, kernel ${release()}`,
    `date:     ${new Date().toISOString()}`,
    `temp dir: ${tempRoot} on ${fileSystem}`,
  ]
}
