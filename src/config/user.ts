import {userInfo} from 'node:os'
import {oneLine} from '../core/terminal-text.js'

/** The OS user's name, or "crier" where the platform cannot say (containers without a passwd entry). */
export function osUserName(): string {
  try {
    return userInfo().username
  } catch {
    return 'crier'
  }
}

/**
 * Who is acting: CRIER_USER (set it on shared terminals and service accounts), else the OS user.
 * One line without control sequences: it is printed, stored and compared as typed otherwise.
 */
export function actingUser(env: NodeJS.ProcessEnv = process.env): string {
  // Stored and shown without invisible format characters: two names that print alike are one.
  return oneLine((env.CRIER_USER ?? '').replace(/\p{Cf}/gu, ''), 200) || osUserName()
}
