// Everything the live view takes from Ink, React and chalk, and its own components, behind one
// module: the session imports only this. The build may bundle it into a single file
// (scripts/bundle-live-view.js): Ink's hundreds of modules take about half a second to load one
// by one, one file a fraction of that; and one React copy serves Ink and the components alike.

export {render} from 'ink'
export {Fragment, createElement} from 'react'
export {default as chalk, supportsColorStderr} from 'chalk'
export {LiveView} from './live-view.js'
export {KeyInput} from './key-input.js'
