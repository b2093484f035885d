import {readFile} from 'node:fs/promises'
import {validateXML} from 'xmllint-wasm'

// Validates a document against the OASIS CAP 1.2 schema with libxml2 compiled to WebAssembly:
// in-process, no network, no xmllint binary needed on the machine.

const schemaUrl = new URL('../fixtures/CAP-v1.2.xsd', import.meta.url)
let schema: Promise<string> | undefined

/** The schema errors for `xml`; empty when it is a valid CAP 1.2 document. */
export async function capSchemaErrors(xml: string): Promise<string[]> {
  schema ??= readFile(schemaUrl, 'utf8')
  const result = await validateXML({
    xml: [{fileName: 'alert.xml', contents: xml}],
    schema: [{fileName: 'CAP-v1.2.xsd', contents: await schema}],
  })
  if (result.valid) return []
  return result.errors.length > 0 ? result.errors.map((error) => error.rawMessage) : [result.rawOutput]
}
