import {ConfigError, type Config} from './load.js'

// A channel whose secret this shell lacks (loaded with missingSecretsAside) can be drafted for,
// previewed, approved and queued, but not sent on from here.

/** Refuses (exit 2, naming each variable and key) to send on channels whose secrets this shell lacks. */
export function requireSecretsFor(config: Config, channelNames: readonly string[]): void {
  const problems = channelNames.flatMap((name) => config.missingSecrets?.[name] ?? [])
  if (problems.length) throw new ConfigError(problems)
}

/** Channels configured but not usable here: a secret this shell lacks, or settings set aside as wrong. */
export function channelsSetAside(config: Config): string[] {
  return [...Object.keys(config.missingSecrets ?? {}), ...Object.keys(config.brokenChannels ?? {})]
}

/** What the channel lacks here ("config.yaml: channels.x.secret: environment variable X is not set"), or undefined. */
export function missingSecretsOf(config: Config, channel: string): string | undefined {
  return config.missingSecrets?.[channel]?.map((problem) => problem.replace(/ — export it before running crier$/, '')).join('; ')
}
