/**
 * Resolves once the event loop has been through its poll phase, where a signal that came
 * meanwhile (while a synchronous store call held the thread) is handed to its handler: two
 * check phases on, whichever phase this runs in.
 */
export const pastPendingEvents = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)))
