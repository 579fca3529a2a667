// The peer we did not write reads back what cairn posted to an Arweave gateway.
//
// usage: node arweave_readback.mjs GATEWAY_URL ROOT_CID
// Finds cairn's index item by tag (GraphQL), and the carrying transactions by their
// bundle tags (arlocal's GraphQL does not fill in `bundledIn`); for the index and every part:
// npm `arweave` fetches the carrying native transaction and verifies its RSA-PSS
// signature; npm `@dha-team/arbundles` parses the ANS-104 bundle and verifies every
// data item's signature (type 3, Ethereum). Prints one JSON object; exits 1 on a failure.
import Arweave from "arweave";
import { computeRootHash } from "arweave/node/lib/merkle.js";
import { Bundle, DataItem } from "@dha-team/arbundles";

const [gatewayUrl, rootCid] = process.argv.slice(2);
const url = new URL(gatewayUrl);
const arweave = Arweave.init({
  host: url.hostname,
  port: Number(url.port),
  protocol: url.protocol.replace(":", ""),
});

async function graphql(tags) {
  const query = `query($tags: [TagFilter!]) { transactions(tags: $tags, first: 100) { edges { node {
    id owner { address key } tags { name value } } } } }`;
  const resp = await arweave.api.post("/graphql", { query, variables: { tags } });
  return resp.data.data.transactions.edges.map((e) => e.node);
}

// The data as the gateway serves it (`GET /{id}`): arlocal's chunk offsets do not
// line up with what arweave-js's chunked download asks for.
async function rawData(id) {
  const resp = await arweave.api.get(id, { responseType: "arraybuffer" });
  if (resp.status !== 200) throw new Error(`GET /${id} answered ${resp.status}`);
  return Buffer.from(resp.data);
}

const carriers = new Map(); // item id -> the native transaction that carries it
for (const tx of await graphql([
  { name: "App-Name", values: ["cairn"] },
  { name: "Bundle-Format", values: ["binary"] },
])) {
  const raw = await rawData(tx.id);
  for (const id of new Bundle(raw).getIds()) carriers.set(id, tx.id);
}

async function checkCarrier(itemId) {
  const bundleId = carriers.get(itemId);
  if (!bundleId) throw new Error(`no cairn transaction carries ${itemId}`);
  const header = await arweave.api.get(`tx/${bundleId}`);
  const tx = arweave.transactions.fromRaw({ ...header.data, data: "" });
  if (!(await arweave.transactions.verify(tx))) throw new Error(`transaction ${bundleId} does not verify`);
  const raw = await rawData(bundleId);
  if (Arweave.utils.bufferTob64Url(await computeRootHash(raw)) !== tx.data_root) {
    throw new Error(`the data of ${bundleId} does not match its signed data_root`);
  }
  const bundle = new Bundle(raw);
  if (!(await bundle.verify())) throw new Error(`bundle ${bundleId} does not verify`);
  const item = bundle.items.find((i) => i.id === itemId);
  if (!item) throw new Error(`bundle ${bundleId} does not hold ${itemId}`);
  if (!(await DataItem.verify(item.getRaw()))) throw new Error(`item ${itemId} does not verify`);
  return { item, carrierOwner: await arweave.wallets.ownerToAddress(tx.owner) };
}

const [index] = await graphql([
  { name: "App-Name", values: ["cairn"] },
  { name: "Cairn-Type", values: ["car-index"] },
  { name: "Root-CID", values: [rootCid] },
]);
if (!index) throw new Error(`no cairn index for ${rootCid}`);
const { item, carrierOwner } = await checkCarrier(index.id);
const doc = JSON.parse(Buffer.from(item.rawData).toString());
const parts = [];
for (const part of doc.parts) {
  const checked = await checkCarrier(part.id);
  if (checked.item.rawData.length !== part.size) throw new Error(`part ${part.id} has the wrong size`);
  parts.push({ id: part.id, size: part.size, signatureType: checked.item.signatureType });
}
console.log(JSON.stringify({
  verified: true,
  index: index.id,
  signatureType: item.signatureType,
  owner: Buffer.from(item.rawOwner).toString("hex"),
  tags: item.tags,
  carrierOwner,
  parts,
}));
