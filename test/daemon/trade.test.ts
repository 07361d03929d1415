// Goal: a buy and a sell go through end to end between two daemons over real sockets (exchange
// WebSocket, daemon-to-daemon peer WebSocket, local HTTP APIs, an HTTP worker), with exact
// balances. Method: one exchange and two daemons on a shared VirtualClock, moved in small steps.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashWork } from '../../src/daemon/hash-work.js';
import { balance, settle, startMarket, TEST_HASH_ARTICLE, type Market } from '../support/daemons.js';

let market: Market;
before(async () => {
  market = await startMarket();
});
after(async () => {
  await market.stop();
});

test('a buy through a mandate trades with a seller daemon, and balances are exact', async () => {
  const seller = await market.daemon('seller');
  const buyer = await market.daemon('buyer');
  await market.credit(buyer.identity.address, 10_000);
  const worker = await market.workerProcess(seller, 'hash-1');
  await seller.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 1000 });
  await settle(market.clock, () => market.exchange.exchange.core.depth(TEST_HASH_ARTICLE, 5)!.asks.length === 1, { what: 'the sell bid' });
  await buyer.mandates.add({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 1200, trades: 1 });

  const work = new TextEncoder().encode('render me, please');
  const responding = fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: work });
  let response: Response | undefined;
  void responding.then((value) => (response = value));
  await settle(market.clock, () => response !== undefined, { what: 'the result' });
  assert.equal(response!.status, 200, await response!.clone().text());
  assert.deepEqual(new Uint8Array(await response!.arrayBuffer()), hashWork(work));
  const tradeId = response!.headers.get('x-bitwrk-trade')!;
  const trade = (await (await fetch(`${buyer.apiUrl}/trades/${tradeId}`)).json()) as Record<string, unknown>;
  assert.equal(trade['state'], 'done');

  await settle(market.clock, () => market.exchange.exchange.core.exportState().transactions.length === 0, { what: 'the transaction to retire' });
  // The seller's bid rested first: price 1000, fee ceil(3 % of 1000) = 30, paid by the buyer.
  assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000 - 1030, heldSats: 0 });
  assert.deepEqual(await balance(market, seller.identity.address), { availableSats: 1000, heldSats: 0 });
  assert.equal(worker.lines.filter((line) => line.startsWith('job ')).length, 1, 'the worker process did the work once');
  assert.equal(buyer.mandates.list().length, 0, 'the one-trade mandate is spent');
});
