// Goal: the daemon-to-daemon codes (7001-7008), the secure link's close (4008) and the relay's
// closes (1000, 4010-4015) are what a real seller daemon and the exchange's relay send, each in its
// documented situation. Method: a small market on a VirtualClock (exchange with relay, seller
// daemons with workers), a hand-made buyer speaking the peer protocol over the encrypted link,
// and raw relay connections.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { importFile } from '../../src/cafs/files.js';
import { MemoryChunkStore } from '../../src/cafs/memory-store.js';
import { cafsReceiver, sendFile, type CafsProtocol } from '../../src/cafs/sync.js';
import type { Identity } from '../../src/crypto/keys.js';
import { createNonce } from '../../src/crypto/nonce.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { workSecretHashOf } from '../../src/machines/transaction.js';
import { dialPeer, handshakeText } from '../../src/daemon/peer-link.js';
import { helloText, peerProtocol, resultTransferId, workTransferId } from '../../src/protocol/peer.js';
import { RELAY_IDLE_LISTENER_MS, RELAY_PENDING_PER_LISTENER_MAX } from '../../src/server/relay.js';
import { acceptPath, dialPath, dialQuery, relayDialText, relayListenText, relayProtocol } from '../../src/protocol/relay.js';
import type { Connection } from '../../src/transport/connection.js';
import type { ProtocolError } from '../../src/transport/errors.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { generateStaticKeyPair } from '../../src/transport/secure-connection.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { connectClient, EXCHANGE_ID, newIdentity } from '../support/exchange.js';
import { settle, startMarket, TEST_HASH_ARTICLE, type Market } from '../support/daemons.js';
import { COVERS } from './covers.js';

const errors = new Set<number>();
const closes = new Set<number>();
let market: Market;
before(async () => {
  market = await startMarket();
});
after(async () => {
  await market.stop();
});

const random = (count: number): Uint8Array => new Uint8Array(randomBytes(count));

async function expectCode(promise: Promise<unknown>, code: number, what: string): Promise<void> {
  const error = (await promise.then(() => undefined, (failure: ProtocolError) => failure)) as ProtocolError | undefined;
  assert.equal(error?.code, code, `${what}: ${error?.message ?? 'it succeeded'}`);
  errors.add(code);
}

function closeCode(connection: Connection): Promise<number> {
  return new Promise((resolve) => connection.setHandlers({ frame: () => undefined, close: (code) => resolve(code) }));
}

async function seller(name: string, priceSats: number, compute?: (work: Uint8Array) => Uint8Array): Promise<Daemon> {
  const daemon = await market.daemon(name);
  await market.worker(daemon, `${name}-worker`, compute);
  await daemon.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats });
  await settle(market.clock, () => daemon.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: `${name}'s sell bid` });
  return daemon;
}

/** A buyer of our own making: buys once, commits to `work`, and opens the encrypted link to the seller. */
async function buyFrom(sellerDaemon: Daemon, priceSats: number, work: Uint8Array) {
  const buyer = newIdentity();
  await market.credit(buyer.address, 100_000);
  const { client, peer } = await connectClient(market.exchange.url, buyer, market.clock);
  assert.equal((await client.placeBid(TEST_HASH_ARTICLE, 'buy', priceSats)).matched, true);
  const tx = market.exchange.exchange.core.participantView(buyer.address).transactions[0]!;
  assert.equal(tx.seller, sellerDaemon.identity.address);
  const store = new MemoryChunkStore();
  const file = await importFile(store, [work]);
  const secret = randomBytes(32).toString('hex');
  await client.txMessage(tx.txId, 'workhash', { workhash: file.fileKey, worksecrethash: workSecretHashOf(file.fileKey, secret) });
  await settle(market.clock, () => typeof market.exchange.exchange.core.transaction(tx.txId)?.workerUrl === 'string', { what: 'the worker URL' });
  const workerUrl = market.exchange.exchange.core.transaction(tx.txId)!.workerUrl!;
  const link = await dialPeer({ workerUrl, txId: tx.txId, seller: tx.seller, exchangeId: EXCHANGE_ID, identity: buyer, staticKeyPair: generateStaticKeyPair(), clock: market.clock, random });
  const results = new MemoryChunkStore();
  const rpc = new RpcPeer(link.connection, peerProtocol, cafsReceiver(results) as never, { clock: market.clock });
  const hello = (who: Identity = buyer, txId = tx.txId) => {
    const nonce = createNonce(market.clock, random);
    const signature = signMessage(helloText({ exchangeId: EXCHANGE_ID, txId, buyer: who.address, nonce, handshake: handshakeText(link) }), who.privateKey);
    return rpc.request('peer.hello', { txId, buyer: who.address, nonce, signature: new Uint8Array(Buffer.from(signature, 'base64')) });
  };
  const sendWork = () => sendFile(rpc as unknown as RpcPeer<CafsProtocol>, store, file, { transferId: workTransferId(tx.txId) });
  const done = () => {
    rpc.close(1000, 'done');
    peer.close(1000, 'done');
  };
  return { buyer, client, txId: tx.txId, secret, rpc, hello, sendWork, results, done };
}

test('the seller\'s peer codes 7001-7008, and 4008 for a link that is not Noise', async () => {
  const honest = await seller('peer-honest', 1000);
  const first = await buyFrom(honest, 1000, new TextEncoder().encode('work one'));
  // Test errors in the order a buyer meets them.
  await expectCode(first.rpc.request('peer.secret', { txId: first.txId, buyerSecret: first.secret }), 7001, 'before the hello');
  await expectCode(first.hello(first.buyer, 't999999'), 7002, 'a transaction this seller does not sell in');
  await expectCode(first.hello(newIdentity()), 7003, 'a hello from someone else');
  await first.hello();
  await expectCode(first.rpc.request('peer.receipt', { txId: first.txId, signature: 'A'.repeat(86) + 'A=' }), 7008, 'a receipt before any result');
  await expectCode(first.rpc.request('peer.secret', { txId: first.txId, buyerSecret: first.secret }), 7004, 'the secret before the work');
  await first.sendWork();
  await first.rpc.request('peer.secret', { txId: first.txId, buyerSecret: first.secret });
  const result = first.rpc.request('peer.result', { txId: first.txId });
  await settle(market.clock, () => honest.trades().some((trade) => trade.state.value === 'delivering'), { stepMs: 10, what: 'the result' });
  const delivered = await result;
  const forged = signMessage(delivered.encryptedFileKey, newIdentity().privateKey);
  await expectCode(first.rpc.request('peer.receipt', { txId: first.txId, signature: forged }), 7007, 'a receipt the buyer did not sign');
  const receipt = signMessage(delivered.encryptedFileKey, first.buyer.privateKey);
  assert.match((await first.rpc.request('peer.receipt', { txId: first.txId, signature: receipt })).resultKey, /^[0-9a-f]{64}$/);
  assert.ok(await first.results.loadFile(delivered.encryptedFileKey), `the result came as ${resultTransferId(first.txId)}`);
  await first.client.txMessage(first.txId, 'acceptresult');
  first.done();

  await settle(market.clock, () => honest.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: 'the next sell bid' });
  const second = await buyFrom(honest, 1000, new TextEncoder().encode('work two'));
  await second.hello();
  await second.sendWork();
  await expectCode(second.rpc.request('peer.secret', { txId: second.txId, buyerSecret: 'ee'.repeat(32) }), 7005, 'a wrong secret');
  second.done();

  const failing = await seller('peer-failing', 500, () => {
    throw new Error('this worker always fails');
  });
  const third = await buyFrom(failing, 500, new TextEncoder().encode('work three'));
  await third.hello();
  await third.sendWork();
  await third.rpc.request('peer.secret', { txId: third.txId, buyerSecret: third.secret });
  const failed = expectCode(third.rpc.request('peer.result', { txId: third.txId }), 7006, 'the worker failed');
  await settle(market.clock, () => failing.trades().some((trade) => trade.state.value === 'failed'), { what: 'the failed sale' });
  await failed;
  third.done();

  // Something that does not speak Noise to the peer endpoint.
  const plain = await connectWebSocket(honest.peerUrl, { clock: market.clock });
  const closed = closeCode(plain);
  plain.send(new Uint8Array(40));
  assert.equal(await closed, 4008);
  closes.add(4008);
});

/** A raw relay listener for `who`; returns its control connection and the pushes it got. */
async function listen(who: Identity) {
  const base = new URL(market.exchange.url).origin;
  const control = new RpcPeer(await connectWebSocket(`${base}/relay/listen`, { clock: market.clock }), relayProtocol, {}, { clock: market.clock });
  const incoming: string[] = [];
  control.onPush('relay.incoming', ({ connectionId }) => incoming.push(connectionId));
  const { challenge } = await control.request('relay.challenge', {});
  const signature = new Uint8Array(Buffer.from(signMessage(relayListenText(EXCHANGE_ID, who.address, challenge), who.privateKey), 'base64'));
  await control.request('relay.listen', { address: who.address, signature });
  return { control, incoming, base };
}

async function transactions(buyer: Identity, sellerKey: Identity, count: number): Promise<string[]> {
  await market.credit(buyer.address, 1_000_000);
  const sellerClient = await connectClient(market.exchange.url, sellerKey, market.clock);
  const buyerClient = await connectClient(market.exchange.url, buyer, market.clock);
  for (let index = 0; index < count; index++) {
    await sellerClient.client.placeBid(TEST_HASH_ARTICLE, 'sell', 100 + index);
    assert.equal((await buyerClient.client.placeBid(TEST_HASH_ARTICLE, 'buy', 100 + index)).matched, true);
  }
  sellerClient.peer.close(1000, 'done');
  buyerClient.peer.close(1000, 'done');
  return market.exchange.exchange.core.participantView(buyer.address).transactions.map((tx) => tx.txId);
}

function signedDial(base: string, buyer: Identity, sellerKey: Identity, txId: string): string {
  const nonce = createNonce(market.clock, random);
  const signature = new Uint8Array(Buffer.from(signMessage(relayDialText(EXCHANGE_ID, { txId, buyer: buyer.address, seller: sellerKey.address, nonce }), buyer.privateKey), 'base64'));
  return `${base}${dialPath(sellerKey.address)}?${dialQuery({ txId, buyer: buyer.address, nonce, signature })}`;
}

test('the relay\'s closes: 4010, 4014, 4012, 4011, 1000 through a pipe, 4013, 4015', async () => {
  const sellerKey = newIdentity();
  const buyer = newIdentity();
  const { control, incoming, base } = await listen(sellerKey);
  const nobody = await connectWebSocket(`${base}${dialPath(newIdentity().address)}`, { clock: market.clock });
  assert.equal(await closeCode(nobody), 4010);
  closes.add(4010);
  const unsigned = await connectWebSocket(`${base}${dialPath(sellerKey.address)}`, { clock: market.clock });
  assert.equal(await closeCode(unsigned), 4014);
  closes.add(4014);

  // More dials waiting than a seller may have: the one past the limit is refused.
  const txIds = await transactions(buyer, sellerKey, RELAY_PENDING_PER_LISTENER_MAX + 1);
  const waiting: Array<Promise<number>> = [];
  for (const txId of txIds.slice(0, RELAY_PENDING_PER_LISTENER_MAX)) waiting.push(closeCode(await connectWebSocket(signedDial(base, buyer, sellerKey, txId), { clock: market.clock })));
  await settle(market.clock, () => incoming.length === RELAY_PENDING_PER_LISTENER_MAX, { stepMs: 10, what: 'the incoming pushes' });
  const extra = await connectWebSocket(signedDial(base, buyer, sellerKey, txIds[RELAY_PENDING_PER_LISTENER_MAX]!), { clock: market.clock });
  assert.equal(await closeCode(extra), 4012);
  closes.add(4012);

  // The seller accepts one (a pipe; the buyer then hangs up normally) and lets the others time out.
  const accepted = await connectWebSocket(`${base}${acceptPath(incoming[0]!)}`, { clock: market.clock });
  const sellerSide = closeCode(accepted);
  await settle(market.clock, () => market.exchange.relay.stats.pipes === 1, { stepMs: 10, what: 'the pipe' });
  await settle(market.clock, () => market.exchange.relay.stats.waiting === 0, { stepMs: 1000, what: 'the accept timeouts' });
  const codes = await Promise.all(waiting.slice(1));
  assert.ok(codes.every((code) => code === 4011), `accept timeouts: ${codes.join(', ')}`);
  closes.add(4011);
  // The paired one: the seller hangs up normally, the buyer's side hears 1000 through the relay.
  accepted.close(1000, 'the seller is done');
  assert.equal(await sellerSide, 1000);
  assert.equal(await waiting[0], 1000);
  closes.add(1000);
  control.close(1000, 'done');

  // A second listen for the same address takes over: the first is closed with 4013.
  const one = await listen(sellerKey);
  const oneClosed = one.control.closed;
  const two = await listen(sellerKey);
  assert.equal((await oneClosed).code, 4013);
  closes.add(4013);
  // A listener whose address trades nothing is let go after a while.
  const idle = await listen(newIdentity());
  const idleClosed = idle.control.closed;
  await settle(market.clock, () => !idle.control.isOpen, { stepMs: 2_000, limitMs: RELAY_IDLE_LISTENER_MS * 2, what: 'the idle sweep' });
  assert.equal((await idleClosed).code, 4015);
  closes.add(4015);
  two.control.close(1000, 'done');
});

test('this file produced exactly the codes covers.ts lists for the peer link and the relay', () => {
  assert.deepEqual([...errors].sort((a, b) => a - b), [...COVERS.peer.errors]);
  assert.deepEqual([...closes].sort((a, b) => a - b), [...COVERS.peer.closes]);
});
