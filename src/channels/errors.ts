// A driver's send either returns a receipt or throws one of these; the error's type tells the
// engine what to do next (like p-retry's AbortError), and its message is the provider's reason.

/** Try again later: network error, timeout, 5xx. `retryAfterMs` when the provider said when. */
export class TransientSendError extends Error {
  readonly retryAfterMs?: number
  constructor(message: string, retryAfterMs?: number) {
    super(message)
    this.name = 'TransientSendError'
    this.retryAfterMs = retryAfterMs
  }
}

/**
 * The request may have reached the provider, but no answer came back (a timeout, a dropped
 * connection). A driver whose sends are idempotent retries it like any transient failure; for
 * one without idempotency a retry could publish twice, so the engine marks it `unknown`.
 */
export class InDoubtSendError extends TransientSendError {
  constructor(message: string) {
    super(message)
    this.name = 'InDoubtSendError'
  }
}

/**
 * The request never left this machine (connection refused, no DNS, no free connection before its
 * deadline): the provider cannot have acted on it, so it is sent again — even by a driver without
 * idempotency, even when a stopping run cut it short.
 */
export class NotSentError extends TransientSendError {
  constructor(message: string) {
    super(message)
    this.name = 'NotSentError'
  }
}

/** The provider is rate-limiting the account: pause the whole channel for `retryAfterMs`. */
export class RateLimitedError extends Error {
  readonly retryAfterMs: number
  constructor(message: string, retryAfterMs: number) {
    super(message)
    this.name = 'RateLimitedError'
    this.retryAfterMs = retryAfterMs
  }
}

/** Sending this again cannot succeed (bad request, revoked token): the delivery is dead. */
export class PermanentSendError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PermanentSendError'
  }
}

/**
 * Not this delivery but the channel itself cannot send: the provider refuses its credentials,
 * or its settings are incomplete. Every other delivery on it would fail the same way, so the
 * engine stops the channel and leaves its deliveries queued for when the config is fixed —
 * rather than spending an audience's worth of refused logins and burying it as dead.
 */
export class ChannelUnusableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ChannelUnusableError'
  }
}

/**
 * The provider says this recipient has unsubscribed (e.g. Twilio 21610, an SMS STOP): the
 * delivery is `skipped` and the contact is opted out for the future.
 */
export class RecipientOptedOutError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RecipientOptedOutError'
  }
}
