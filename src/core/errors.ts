// Expected failures carry their exit code (DESIGN.md "Exit codes"); the CLI's base command
// prints them as one line and exits with that code. Anything else is a bug and exits 1.

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  refused: 3,
  incomplete: 4,
} as const

export class CrierError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
    this.name = new.target.name
  }
}

/** Bad input or usage: exit 2. */
export class UsageError extends CrierError {
  constructor(message: string) {
    super(message, ExitCode.usage)
  }
}

/** Refused by policy or lifecycle, or waiting for approval: exit 3. */
export class PolicyRefusal extends CrierError {
  constructor(message: string) {
    super(message, ExitCode.refused)
  }
}

/** A runtime failure that is not the user's input (database locked, disk not writable): exit 1. */
export class RuntimeFailure extends CrierError {
  constructor(message: string) {
    super(message, ExitCode.failure)
  }
}
