import {userInfo} from 'node:os'

/** The OS user's name, or "crier" where the platform cannot say (containers without a passwd entry). */
export function osUserName(): string {
  try {
    return userInfo().username
  } catch {
    return 'crier'
  }
}

/** Who is acting: CRIER_USER (set it on shared terminals and service accounts), else the OS user. */
export function actingUser(env: NodeJS.ProcessEnv = process.env): string {
  return env.CRIER_USER?.trim() || osUserName()
}
