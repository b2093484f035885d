import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

// A partner's webhook endpoint at its fastest: answers 200 with `{}` as soon as the body has
// arrived, and counts requests. Run in its own process (child_process.fork) so that the server
// does not share an event loop with the client being measured.
//
// IPC: the parent sends {type: 'count'} → {type: 'count', count}; {type: 'reset'} → {type:
// 'reset', count: 0}; {type: 'close'} ends every connection and exits. On start the child
// sends {type: 'listening', port}.

export type FakeServerMessage = {type: 'listening'; port: number} | {type: 'count' | 'reset'; count: number}

let count = 0
const answer = Buffer.from('{}')

const server = createServer((request, response) => {
  request.resume()
  request.on('end', () => {
    count++
    response.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': answer.length})
    response.end(answer)
  })
})
// Clients keep connections alive between runs; never be the side that drops them first.
server.keepAliveTimeout = 120_000
server.headersTimeout = 125_000

const send = (message: FakeServerMessage) => process.send?.(message)

process.on('message', (message: {type: string}) => {
  if (message.type === 'count') send({type: 'count', count})
  else if (message.type === 'reset') {
    count = 0
    send({type: 'reset', count})
  } else if (message.type === 'close') {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  }
})
process.on('disconnect', () => process.exit(0))

server.listen(0, '127.0.0.1', () => send({type: 'listening', port: (server.address() as AddressInfo).port}))
