import type {Config} from '../config/load.js'
import type {Store} from '../store/index.js'

/** What core operations need from outside: configuration, the store, the clock, who is acting. */
export interface CoreContext {
  config: Config
  store: Store
  now: () => number
  /** The person acting: CRIER_USER or the OS user. */
  user: string
}
