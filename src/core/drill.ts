import type {CapStatus} from './announcement.js'

// Every CAP status but Actual — Exercise, Test, System, Draft — is not a real alert. Such an
// announcement goes only to channels marked allowTest, and says what it is wherever it is read:
// a resident must never take a drill for an emergency, nor an officer mistake one in a list.

/** Not a real alert. */
export function isDrill(status: CapStatus): boolean {
  return status !== 'Actual'
}

/** "EXERCISE", "TEST", "SYSTEM" or "DRAFT" for a drill; '' for an Actual alert. */
export function drillWord(status: CapStatus): string {
  return isDrill(status) ? status.toUpperCase() : ''
}
