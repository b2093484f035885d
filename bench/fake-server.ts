import {createServer} from 'node:http'
import {serveAsChild} from './child-server.js'

// A partner's webhook endpoint at its fastest: answers 200 with `{}` as soon as the body has
// arrived, and counts requests and body bytes. Run in its own process by child-server.ts (IPC
// protocol there), so that it never shares an event loop with the client being measured.

const answer = Buffer.from('{}')

const server = createServer((request, response) => {
  let bytes = 0
  request.on('data', (chunk: Buffer) => (bytes += chunk.length))
  request.on('end', () => {
    counts.count++
    counts.bytes += bytes
    response.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': answer.length})
    response.end(answer)
  })
})
const counts = serveAsChild(server)
