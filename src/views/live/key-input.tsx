import {useInput} from 'ink'
import type {KeyPress} from './model.js'

/** Reads keys while active (stdin is a terminal); draws nothing. */
export function KeyInput({isActive, onKey}: {isActive: boolean; onKey: (key: KeyPress) => void}) {
  useInput((input, key) => onKey({input, ctrl: key.ctrl, escape: key.escape}), {isActive})
  return null
}
