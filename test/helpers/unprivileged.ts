/**
 * Runs `action` as `nobody`, so that a read-only folder is read-only even when the tests run as
 * root (root ignores permission bits). seteuid is per process and the vitest pool is forks.
 */
export async function asUnprivilegedUser<T>(action: () => Promise<T>): Promise<T> {
  if (process.geteuid?.() !== 0 || !process.seteuid) return action()
  process.seteuid(65534)
  try {
    return await action()
  } finally {
    process.seteuid(0)
  }
}
