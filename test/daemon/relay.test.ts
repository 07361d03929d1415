// Goal: a seller that buyers cannot reach directly still sells, through the exchange's relay, and
// the relay refuses what it must. Method: the real exchange with its relay on a loopback port and
// two daemons on a VirtualClock; the seller runs with relay 'always', so its workerurl is the
// relay's dial URL; then raw connections try the relay's refusals one by one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createNonce } from '../../src/crypto/nonce.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import { hashWork } from '../../src/daemon/hash-work.js';
import type { Identity } from '../../src/crypto/keys.js';
import { dialPath, dialQuery, RELAY_CLOSE, relayDialText, relayListenText, relayProtocol } from '../../src/protocol/relay.js';
import type { Connection } from '../../src/transport/connection.js';
import type { ProtocolError } from '../../src/transport/errors.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { connectClient, EXCHANGE_ID, newIdentity } from '../support/exchange.js';
import { balance, settle, startMarket, TEST_HASH_ARTICLE, type Market, auth } from '../support/daemons.js';

let market: Market;
before(async () => {
  market = await startMarket();
});
after(async () => {
  await market.stop();
});

const base = (): string => new URL(market.exchange.url).origin;

test('a seller behind the relay sells: the work and the result travel through the exchange', async () => {
  const seller = await market.daemon('relayed-seller', { relay: 'always' });
  assert.equal(seller.peerUrl, `${base()}${dialPath(seller.identity.address)}`);
  await market.worker(seller, 'relayed-worker');
  await seller.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 500 });
  const buyer = await market.daemon('relay-buyer');
  await market.credit(buyer.identity.address, 5_000);
  await settle(market.clock, () => seller.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: 'the sell bid' });

  const work = new TextEncoder().encode('relay me');
  let response: Response | undefined;
  void fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=600`, { method: 'POST', body: work, headers: auth(buyer) }).then((value) => (response = value));
  let pipesSeen = 0;
  await settle(market.clock, () => {
    pipesSeen = Math.max(pipesSeen, market.exchange.relay.stats.pipes);
    return response !== undefined;
  }, { what: 'the result' });
  assert.equal(response!.status, 200, await response!.clone().text());
  assert.deepEqual(new Uint8Array(await response!.arrayBuffer()), hashWork(work));
  assert.ok(pipesSeen >= 1, 'the buyer reached the seller through a relay pipe');
  const trade = buyer.buyer.actors.get(response!.headers.get('x-bitwrk-trade')!)!;
  assert.equal(trade.state.context.workerUrl, seller.peerUrl);
  await settle(market.clock, () => market.exchange.exchange.core.exportState().transactions.length === 0);
  // The sell bid rested first: price 500, fee 15.
  assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 5_000 - 515, heldSats: 0 });
  assert.deepEqual(await balance(market, seller.identity.address), { availableSats: 500, heldSats: 0 });
});

/** A raw control connection to the relay, and a signed listen for `who` over its challenge. */
async function control(): Promise<RpcPeer<typeof relayProtocol>> {
  return new RpcPeer(await connectWebSocket(`${base()}/relay/listen`, { clock: market.clock }), relayProtocol, {}, { clock: market.clock });
}

function signed(text: string, who: Identity): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(signMessage(text, who.privateKey), 'base64'));
}

async function listen(peer: RpcPeer<typeof relayProtocol>, seller: Identity): Promise<string> {
  const { challenge } = await peer.request('relay.challenge', {});
  return (await peer.request('relay.listen', { address: seller.address, signature: signed(relayListenText(EXCHANGE_ID, seller.address, challenge), seller) })).dialPath;
}

function closeCode(connection: Connection): Promise<number> {
  return new Promise<number>((resolve) => connection.setHandlers({ frame: () => undefined, close: (code) => resolve(code) }));
}

test('the relay refuses a listen without its challenge, a forged one, a replayed one, and dials nobody may make', async () => {
  const first = await control();
  const seller = newIdentity();
  // Test errors by descending precedence.
  await assert.rejects(first.request('relay.listen', { address: seller.address, signature: new Uint8Array(65) }), (error: ProtocolError) => error.code === 1006, 'no challenge asked for');
  const { challenge } = await first.request('relay.challenge', {});
  await assert.rejects(first.request('relay.listen', { address: 'not-an-address', signature: signed(relayListenText(EXCHANGE_ID, seller.address, challenge), seller) }), (error: ProtocolError) => error.code === 2003);
  await assert.rejects(first.request('relay.listen', { address: seller.address, signature: signed(relayListenText(EXCHANGE_ID, seller.address, challenge), newIdentity()) }), (error: ProtocolError) => error.errorName === 'signature_invalid');
  const recorded = signed(relayListenText(EXCHANGE_ID, seller.address, challenge), seller);
  assert.equal((await first.request('relay.listen', { address: seller.address, signature: recorded })).dialPath, dialPath(seller.address));
  // An eavesdropper replays the recorded listen on a connection of its own: another challenge.
  const thief = await control();
  await thief.request('relay.challenge', {});
  await assert.rejects(thief.request('relay.listen', { address: seller.address, signature: recorded }), (error: ProtocolError) => error.errorName === 'signature_invalid');

  const stranger = newIdentity();
  assert.equal(await closeCode(await connectWebSocket(`${base()}${dialPath(stranger.address)}`, { clock: market.clock })), RELAY_CLOSE.notListening);
  // A dial to a listening seller without a transaction with it (unsigned, or signed by a stranger).
  assert.equal(await closeCode(await connectWebSocket(`${base()}${dialPath(seller.address)}`, { clock: market.clock })), RELAY_CLOSE.dialRefused);
  const nonce = createNonce(market.clock, (count) => new Uint8Array(count).fill(9));
  const strangerDial = `${base()}${dialPath(seller.address)}?${dialQuery({ txId: 't999', buyer: stranger.address, nonce, signature: signed(relayDialText(EXCHANGE_ID, { txId: 't999', buyer: stranger.address, seller: seller.address, nonce }), stranger) })}`;
  assert.equal(await closeCode(await connectWebSocket(strangerDial, { clock: market.clock })), RELAY_CLOSE.dialRefused);
  assert.equal(market.exchange.relay.stats.waiting, 0, 'nobody holds the seller\'s waiting slots');
  const bogus = await connectWebSocket(`${base()}/relay/accept/${'0'.repeat(32)}`, { clock: market.clock });
  assert.notEqual(await closeCode(bogus), 1000, 'an accept nobody asked for is refused');
  first.close(1000, 'done');
  thief.close(1000, 'done');
});

test('a dialled seller that never accepts: the buyer of the transaction is let go after the accept timeout', async () => {
  const seller = newIdentity();
  const buyer = newIdentity();
  const peer = await control();
  await listen(peer, seller);
  const incoming: string[] = [];
  peer.onPush('relay.incoming', ({ connectionId }) => incoming.push(connectionId));
  await market.credit(buyer.address, 10_000);
  const sellerClient = await connectClient(market.exchange.url, seller, market.clock);
  const buyerClient = await connectClient(market.exchange.url, buyer, market.clock);
  // Below the relayed seller's 500 of the first test, so this buy matches our own sell bid.
  await sellerClient.client.placeBid(TEST_HASH_ARTICLE, 'sell', 300);
  assert.equal((await buyerClient.client.placeBid(TEST_HASH_ARTICLE, 'buy', 300)).matched, true);
  const tx = market.exchange.exchange.core.participantView(buyer.address).transactions[0]!;
  assert.equal(tx.seller, seller.address);
  const txId = tx.txId;
  const nonce = createNonce(market.clock, (count) => new Uint8Array(count).fill(5));
  const dial = `${base()}${dialPath(seller.address)}?${dialQuery({ txId, buyer: buyer.address, nonce, signature: signed(relayDialText(EXCHANGE_ID, { txId, buyer: buyer.address, seller: seller.address, nonce }), buyer) })}`;
  const connection = await connectWebSocket(dial, { clock: market.clock });
  let closedWith: number | undefined;
  connection.setHandlers({ frame: () => undefined, close: (code) => (closedWith = code) });
  await settle(market.clock, () => incoming.length === 1, { stepMs: 10, what: 'the relay.incoming push' });
  assert.match(incoming[0]!, /^[0-9a-f]{32}$/);
  // The same signed dial again is a replay.
  assert.equal(await closeCode(await connectWebSocket(dial, { clock: market.clock })), RELAY_CLOSE.dialRefused);
  await settle(market.clock, () => closedWith !== undefined, { stepMs: 1000, what: 'the accept timeout' });
  assert.equal(closedWith, RELAY_CLOSE.acceptTimeout);
  assert.equal(market.exchange.relay.stats.waiting, 0);
  peer.close(1000, 'done');
  sellerClient.peer.close(1000, 'done');
  buyerClient.peer.close(1000, 'done');
});
