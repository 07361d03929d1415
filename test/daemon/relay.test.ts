// Goal: a seller that buyers cannot reach directly still sells, through the exchange's relay, and
// the relay refuses what it must. Method: the real exchange with its relay on a loopback port and
// two daemons on a VirtualClock; the seller runs with relay 'always', so its workerurl is the
// relay's dial URL; then raw connections try the relay's refusals one by one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createNonce } from '../../src/crypto/nonce.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import { hashWork } from '../../src/daemon/hash-work.js';
import { dialPath, RELAY_CLOSE, relayListenText, relayProtocol } from '../../src/server/relay.js';
import type { ProtocolError } from '../../src/transport/errors.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { EXCHANGE_ID, newIdentity } from '../support/exchange.js';
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

test('the relay refuses a forged or replayed listen, and a dial to a seller that is not listening', async () => {
  const control = new RpcPeer(await connectWebSocket(`${base()}/relay/listen`, { clock: market.clock }), relayProtocol, {}, { clock: market.clock });
  const seller = newIdentity();
  const nonce = createNonce(market.clock, (count) => new Uint8Array(count).fill(3));
  const signed = (who: typeof seller) => new Uint8Array(Buffer.from(signMessage(relayListenText(EXCHANGE_ID, seller.address, nonce), who.privateKey), 'base64'));
  // Test errors by descending precedence.
  await assert.rejects(control.request('relay.listen', { address: 'not-an-address-at-all-0000', nonce, signature: signed(seller) }), (error: ProtocolError) => error.code >= 2000 && error.code < 3000);
  await assert.rejects(control.request('relay.listen', { address: seller.address, nonce: 'garbage', signature: signed(seller) }), (error: ProtocolError) => error.errorName === 'nonce_invalid');
  await assert.rejects(control.request('relay.listen', { address: seller.address, nonce, signature: signed(newIdentity()) }), (error: ProtocolError) => error.errorName === 'signature_invalid');
  const listening = await control.request('relay.listen', { address: seller.address, nonce, signature: signed(seller) });
  assert.equal(listening.dialPath, dialPath(seller.address));
  await assert.rejects(control.request('relay.listen', { address: seller.address, nonce, signature: signed(seller) }), (error: ProtocolError) => error.errorName === 'nonce_reused');

  const stranger = newIdentity();
  const refused = await connectWebSocket(`${base()}${dialPath(stranger.address)}`, { clock: market.clock });
  const closed = await new Promise<number>((resolve) => refused.setHandlers({ frame: () => undefined, close: (code) => resolve(code) }));
  assert.equal(closed, RELAY_CLOSE.notListening);
  const bogus = await connectWebSocket(`${base()}/relay/accept/${'0'.repeat(32)}`, { clock: market.clock });
  const bogusClosed = await new Promise<number>((resolve) => bogus.setHandlers({ frame: () => undefined, close: (code) => resolve(code) }));
  assert.notEqual(bogusClosed, 1000, 'an accept nobody asked for is refused');
  control.close(1000, 'done');
});

test('a dialled seller that never accepts: the buyer is let go after the accept timeout', async () => {
  const seller = newIdentity();
  const control = new RpcPeer(await connectWebSocket(`${base()}/relay/listen`, { clock: market.clock }), relayProtocol, {}, { clock: market.clock });
  const nonce = createNonce(market.clock, (count) => new Uint8Array(count).fill(5));
  const signature = new Uint8Array(Buffer.from(signMessage(relayListenText(EXCHANGE_ID, seller.address, nonce), seller.privateKey), 'base64'));
  await control.request('relay.listen', { address: seller.address, nonce, signature });
  const incoming: string[] = [];
  control.onPush('relay.incoming', ({ connectionId }) => incoming.push(connectionId));
  const buyer = await connectWebSocket(`${base()}${dialPath(seller.address)}`, { clock: market.clock });
  let closedWith: number | undefined;
  buyer.setHandlers({ frame: () => undefined, close: (code) => (closedWith = code) });
  await settle(market.clock, () => incoming.length === 1, { stepMs: 10, what: 'the relay.incoming push' });
  assert.match(incoming[0]!, /^[0-9a-f]{32}$/);
  await settle(market.clock, () => closedWith !== undefined, { stepMs: 1000, what: 'the accept timeout' });
  assert.equal(closedWith, RELAY_CLOSE.acceptTimeout);
  assert.equal(market.exchange.relay.stats.waiting, 0);
  control.close(1000, 'done');
});
