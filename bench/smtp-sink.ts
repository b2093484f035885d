import type {AddressInfo} from 'node:net'
import {SMTPServer} from 'smtp-server'
import type {ChildServerMessage} from './child-server.js'

// A mail server at its most obliging: smtp-server on 127.0.0.1, no TLS, no AUTH, every sender,
// recipient and message accepted (250 after DATA, as soon as the message has been read), and
// counted. Run in its own process by child-server.ts; the IPC protocol is described there.

let count = 0
let bytes = 0

const server = new SMTPServer({
  name: 'smtp.bench.test',
  banner: 'crier bench SMTP sink',
  logger: false,
  disableReverseLookup: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  authOptional: true,
  // Pooled clients keep connections open between runs; never be the side that drops them.
  socketTimeout: 300_000,
  closeTimeout: 1000,
  onData(stream, _session, callback) {
    let size = 0
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length
    })
    stream.on('end', () => {
      count++
      bytes += size
      callback()
    })
  },
})
server.on('error', (error) => {
  process.stderr.write(`smtp sink: ${error.message}\n`)
})

const send = (message: ChildServerMessage) => process.send?.(message)

process.on('message', (message: {type: string}) => {
  if (message.type === 'count') send({type: 'count', count, bytes, refused: 0})
  else if (message.type === 'reset') {
    count = 0
    bytes = 0
    send({type: 'reset', count, bytes, refused: 0})
  } else if (message.type === 'close') {
    server.close(() => process.exit(0))
    // close() waits for clients to say QUIT; a pool that has gone away never will.
    setTimeout(() => process.exit(0), 2000).unref()
  }
})
process.on('disconnect', () => process.exit(0))

server.listen(0, '127.0.0.1', () => send({type: 'listening', port: (server.server.address() as AddressInfo).port}))
