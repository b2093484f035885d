/** The terminal's width, or COLUMNS when set (a script or a test asking for a width); none in a pipe. */
export function terminalWidth(): number | undefined {
  const columns = Number(process.env.COLUMNS)
  if (Number.isInteger(columns) && columns >= 20) return columns
  return process.stdout.isTTY ? process.stdout.columns : undefined
}
