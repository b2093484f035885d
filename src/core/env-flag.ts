/** An environment switch is on when set to anything but empty, 0 or false (CI=true, CRIER_NO_PROMPT=1). */
export function envFlagSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}
