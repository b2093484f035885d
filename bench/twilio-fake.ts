import {createServer} from 'node:http'
import {serveAsChild} from './child-server.js'

// The Twilio Messages API at its fastest: `POST /2010-04-01/Accounts/{Sid}/Messages.json` with
// the right Basic credentials is answered 201 `{"sid":"SM…","status":"queued"}` as soon as the
// form body has arrived; anything else is a Twilio-shaped 401 or 404 and counted as refused.
// Run in its own process by child-server.ts (IPC protocol there); argv: ACCOUNT_SID AUTH_TOKEN.

const [accountSid = '', authToken = ''] = process.argv.slice(2)
const expectedAuthorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`
const messagesPath = `/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`
const unauthorised = Buffer.from(JSON.stringify({code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401}))
const notFound = Buffer.from(JSON.stringify({code: 20404, message: 'The requested resource was not found', more_info: 'https://www.twilio.com/docs/errors/20404', status: 404}))

let sequence = 0

const server = createServer((request, response) => {
  let size = 0
  request.on('data', (chunk: Buffer) => {
    size += chunk.length
  })
  request.on('end', () => {
    let status = 201
    let body: Buffer
    if (request.method !== 'POST' || request.url !== messagesPath) {
      status = 404
      body = notFound
    } else if (request.headers.authorization !== expectedAuthorization) {
      status = 401
      body = unauthorised
    } else {
      body = Buffer.from(`{"sid":"SM${(sequence++).toString(16).padStart(32, '0')}","status":"queued"}`)
    }
    if (status === 201) {
      counts.count++
      counts.bytes += size
    } else counts.refused++
    response.writeHead(status, {'Content-Type': 'application/json', 'Content-Length': body.length})
    response.end(body)
  })
})

const counts = serveAsChild(server)
