// Fetch a CID from a cairn gateway with @helia/verified-fetch (a real IPFS client that
// verifies every block), and print the sha256 and length of what it got as JSON.
// usage: node helia_fetch.mjs GATEWAY_URL CID
import { createHash } from 'node:crypto'

// Node 20 lacks Promise.withResolvers (Node 22), which the current Helia stack uses.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
const { createVerifiedFetch } = await import('@helia/verified-fetch')
const { createHeliaLight } = await import('helia')
const { withHTTP } = await import('@helia/http')
const { fallbackRouter } = await import('@helia/fallback-router')

const [gateway, cid] = process.argv.slice(2)
// An HTTP-only Helia whose one source of blocks is the gateway under test; no
// delegated routing, no libp2p. allowInsecure + allowLocal: it is plain HTTP on loopback.
const helia = await withHTTP(createHeliaLight(), {
  delegatedRouters: [], recursiveGateways: [gateway], allowInsecure: true, allowLocal: true,
})
// Helia asks "fallback" routers only after the others finish, and with no other
// router that wait never ends; so the gateway under test is offered as a primary router.
const primary = fallbackRouter({ gateways: [gateway], shuffle: false })
primary.capabilities = () => []
helia.routing.routers.push(primary)
await helia.start()
const fetch = await createVerifiedFetch(helia)
try {
  const resp = await fetch(`ipfs://${cid}`, { signal: AbortSignal.timeout(60000) })
  const body = Buffer.from(await resp.arrayBuffer())
  console.log(JSON.stringify({
    status: resp.status,
    length: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
  }))
} finally {
  await fetch.stop()
}
