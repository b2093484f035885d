/** "1 delivery", "3 deliveries", "12,000 subscribers": a count and its noun, as an officer reads them. */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count.toLocaleString('en-GB')} ${count === 1 ? singular : plural}`
}
