import type {PostedPart, SendContext} from '../channels/driver.js'
import type {Store} from '../store/index.js'

/**
 * Gives a send context the delivery's thread progress: the parts earlier attempts posted (read
 * only when a thread driver asks, since it costs a query) and a recorder that commits each
 * posted part at once, so a crash or failure after part 2 resumes at part 3.
 */
export function withThreadParts<C extends Omit<SendContext<any>, 'postedParts' | 'recordPart'>>(context: C, store: Store, now: () => number): C & Pick<SendContext<any>, 'postedParts' | 'recordPart'> {
  const deliveryId = context.deliveryId
  Object.defineProperty(context, 'postedParts', {enumerable: true, get: () => store.deliveries.postedParts(deliveryId)})
  const recordPart = (part: PostedPart): void => store.transaction(() => store.deliveries.recordPart(deliveryId, part, now()))
  return Object.assign(context, {recordPart}) as C & Pick<SendContext<any>, 'postedParts' | 'recordPart'>
}
