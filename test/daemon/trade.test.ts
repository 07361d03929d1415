// Goal: a buy and a sell go through end to end between two daemons over real sockets (exchange
// WebSocket, daemon-to-daemon peer WebSocket, local HTTP APIs, an HTTP worker), with exact
// balances. Method: one exchange and two daemons on a shared VirtualClock, moved in small steps.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashWork } from '../../src/daemon/hash-work.js';
import { balance, settle, startMarket, TEST_HASH_ARTICLE, type Market, auth } from '../support/daemons.js';

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
  const responding = fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: work, headers: auth(buyer) });
  let response: Response | undefined;
  void responding.then((value) => (response = value));
  await settle(market.clock, () => response !== undefined, { what: 'the result' });
  assert.equal(response!.status, 200, await response!.clone().text());
  assert.deepEqual(new Uint8Array(await response!.arrayBuffer()), hashWork(work));
  const tradeId = response!.headers.get('x-bitwrk-trade')!;
  const trade = (await (await fetch(`${buyer.apiUrl}/trades/${tradeId}`)).json()) as Record<string, unknown>;
  assert.equal(trade['state'], 'done');
  // The trade shows what it paid: the transaction's price (the resting sell's 1000, below the
  // mandate's limit of 1200) and the fee; the sale shows the same deal.
  assert.equal(trade['priceSats'], 1200, 'the bid\'s limit');
  assert.deepEqual(trade['deal'], { priceSats: 1000, feeSats: 30 });
  const sale = ((await (await fetch(`${seller.apiUrl}/trades`)).json()) as Array<Record<string, unknown>>).find((entry) => entry['txId'] === trade['txId']);
  assert.deepEqual(sale?.['deal'], { priceSats: 1000, feeSats: 30 });

  await settle(market.clock, () => market.exchange.exchange.core.exportState().transactions.length === 0, { what: 'the transaction to retire' });
  // The seller's bid rested first: price 1000, fee ceil(3 % of 1000) = 30, paid by the buyer.
  assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000 - 1030, heldSats: 0 });
  assert.deepEqual(await balance(market, seller.identity.address), { availableSats: 1000, heldSats: 0 });
  assert.equal(worker.lines.filter((line) => line.startsWith('job ')).length, 1, 'the worker process did the work once');
  assert.equal(buyer.mandates.list().length, 0, 'the one-trade mandate is spent');
});

test('local first: a buy in a daemon with its own idle worker runs there, without a bid or money', async () => {
  const daemon = await market.daemon('own-machines');
  await market.credit(daemon.identity.address, 5_000);
  await market.worker(daemon, 'own-worker');
  // A sell mandate puts the idle worker on the market; the local buy must win it back.
  await daemon.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 900 });
  await settle(market.clock, () => market.exchange.exchange.core.depth(TEST_HASH_ARTICLE, 5)!.asks.some((level) => level.priceSats === 900), { what: 'the sell bid' });
  const transactionsBefore = market.exchange.exchange.core.exportState().transactions.length;

  const work = new TextEncoder().encode('render on my own machine');
  let response: Response | undefined;
  // No buy mandate and no price: only a local worker can clear this buy.
  void fetch(`${daemon.apiUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: work, headers: auth(daemon) }).then((value) => (response = value));
  await settle(market.clock, () => response !== undefined, { what: 'the local result' });
  assert.equal(response!.status, 200, await response!.clone().text());
  assert.deepEqual(new Uint8Array(await response!.arrayBuffer()), hashWork(work));
  const trade = daemon.buyer.actors.get(response!.headers.get('x-bitwrk-trade')!)!;
  assert.equal(trade.state.context.clearedBy, 'local:own-worker');
  assert.equal(trade.state.context.bidId, null);
  assert.equal(market.exchange.exchange.core.exportState().transactions.length, transactionsBefore, 'no transaction on the exchange');
  assert.deepEqual(await balance(market, daemon.identity.address), { availableSats: 5_000, heldSats: 0 });
  // The withdrawn sell bid is gone from the book; once the worker is free again it is offered anew.
  await settle(market.clock, () => daemon.trades().filter((sale) => sale.side === 'sell' && sale.state.value === 'bidPlaced').length === 1, { what: 'the worker offered again' });
});

test('a buy without a mandate or a price is refused with 402 and places no bid', async () => {
  const daemon = await market.daemon('no-permission');
  const response = await fetch(`${daemon.apiUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: 'work', headers: auth(daemon) });
  assert.equal(response.status, 402);
  const body = (await response.json()) as { error: { name: string; message: string }; trade: { bidId: string | null } };
  assert.equal(body.error.name, 'no_permission');
  assert.match(body.error.message, /mandate/);
  assert.equal(body.trade.bidId, null);
  const unknown = await fetch(`${daemon.apiUrl}/buy/net.bitwrk/no-such/0`, { method: 'POST', body: 'work', headers: auth(daemon) });
  assert.equal(unknown.status, 404);
  const badPrice = await fetch(`${daemon.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=-3`, { method: 'POST', body: 'work', headers: auth(daemon) });
  assert.equal(badPrice.status, 400);
  assert.equal(daemon.trades().length, 1, 'the refused requests started no trade');
});

test('a seller daemon that stops withdraws its waiting sell bids, and offers again after a restart', async () => {
  const asks = () => market.exchange.exchange.core.depth(TEST_HASH_ARTICLE, 20)!.asks.filter((level) => level.priceSats === 777).reduce((sum, level) => sum + level.count, 0);
  let daemon = await market.daemon('stopping-seller');
  await market.worker(daemon, 'stopping-worker');
  await daemon.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 777 });
  await settle(market.clock, () => asks() === 1, { what: 'the sell bid' });
  await daemon.stop();
  assert.equal(asks(), 0, 'no buyer can match a seller that is gone');
  const sale = (await (await fetch(`${(daemon = await market.daemon('stopping-seller')).apiUrl}/trades`)).json()) as Array<{ state: string; error: string }>;
  assert.deepEqual(sale.map(({ state, error }) => ({ state, error })).slice(0, 1), [{ state: 'ended', error: 'withdrawn: the daemon stopped' }]);
  await settle(market.clock, () => asks() === 1, { what: 'the sell bid after the restart' });
});
