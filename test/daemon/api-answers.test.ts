// Goal: the local API answers what a user asks at once and truthfully: 503 while the exchange is
// unreachable (B11) instead of blocking; 400 for empty work; 404/400 for a mandate on an article
// the exchange does not trade or at a price it would refuse; and an explicit ?price= caps a
// mandate's price. Method: a real exchange and daemon on a virtual clock (support/daemons.ts),
// requests over real HTTP; the exchange is stopped to make it unreachable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auth, balance, settle, startMarket, TEST_HASH_ARTICLE } from '../support/daemons.js';

const json = { 'content-type': 'application/json' };

test('empty work is refused with 400 and starts no trade', async () => {
  const market = await startMarket();
  try {
    const buyer = await market.daemon('buyer');
    const empty = await fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=1000`, { method: 'POST', body: '', headers: auth(buyer) });
    assert.equal(empty.status, 400);
    assert.equal(((await empty.json()) as { error: { name: string } }).error.name, 'empty_work');
    assert.equal(buyer.trades().length, 0);
  } finally {
    await market.stop();
  }
});

test('a mandate must name an article the exchange trades, at a price within its bounds', async () => {
  const market = await startMarket();
  try {
    const daemon = await market.daemon('user');
    const post = (body: object) => fetch(`${daemon.apiUrl}/mandates`, { method: 'POST', body: JSON.stringify(body), headers: { ...json, ...auth(daemon) } });
    const unknown = await post({ side: 'buy', article: 'net.bitwrk/nothing/0', priceSats: 1000 });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { name: string } }).error.name, 'article_unknown');
    const tooDear = await post({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 2_000_000 });
    assert.equal(tooDear.status, 400);
    assert.match(((await tooDear.json()) as { error: { message: string } }).error.message, /between \d+ and 1000000 sat, got 2000000/);
    const sellThreshold = await post({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 1000, sellerDisputesLostMax: 2 });
    assert.equal(sellThreshold.status, 400);
    assert.match(((await sellThreshold.json()) as { error: { message: string } }).error.message, /sellerDisputesLostMax is for buy mandates/);
    assert.equal((await post({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 1000, sellerDisputesLostMax: -1 })).status, 400);
    assert.deepEqual(daemon.mandates.list(), []);
    assert.equal((await post({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 1_000_000 })).status, 201);
    const lenient = await post({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 1000, sellerDisputesLostMax: 3 });
    assert.equal(lenient.status, 201);
    assert.equal(daemon.mandates.sellerDisputesLostMax(((await lenient.json()) as { mandateId: string }).mandateId), 3);
    assert.equal(daemon.mandates.sellerDisputesLostMax('request'), 0, 'a purchase with its own price uses the default');
  } finally {
    await market.stop();
  }
});

test('an explicit ?price= caps the mandate that clears the purchase', async () => {
  const market = await startMarket();
  try {
    const buyer = await market.daemon('buyer');
    await market.credit(buyer.identity.address, 10_000);
    await buyer.mandates.add({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 1200 });
    const started = await fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=1000&async=1`, { method: 'POST', body: 'work', headers: auth(buyer) });
    assert.equal(started.status, 202);
    await settle(market.clock, () => buyer.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: 'the bid' });
    const bids = market.exchange.exchange.core.depth(TEST_HASH_ARTICLE, 20)!.bids;
    assert.deepEqual(bids.map((level) => level.priceSats), [1000], 'the bid is at the request\'s price, not the mandate\'s 1200');
  } finally {
    await market.stop();
  }
});

test('while the exchange is unreachable the API says so at once (503), and recovers with it', async () => {
  const market = await startMarket();
  try {
    const buyer = await market.daemon('buyer');
    assert.equal((await fetch(`${buyer.apiUrl}/account`)).status, 200);
    await market.credit(buyer.identity.address, 10_000);
    const resting = (await (await fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=1000&async=1`, { method: 'POST', body: 'work', headers: auth(buyer) })).json()) as { tradeId: string };
    await settle(market.clock, () => buyer.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: 'the resting bid' });
    await market.exchange.stop();
    await settle(market.clock, () => buyer.info().exchangeState !== 'open', { what: 'the daemon noticing' });
    // The clock does not move while these are answered: an answer that waited for a timeout or a
    // reconnect would never come, and the test would fail on its own timeout.
    const account = await fetch(`${buyer.apiUrl}/account`);
    assert.equal(account.status, 503);
    assert.equal(((await account.json()) as { error: { name: string } }).error.name, 'exchange_unreachable');
    const purchase = await fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=1000`, { method: 'POST', body: 'work', headers: auth(buyer) });
    assert.equal(purchase.status, 503);
    assert.equal(buyer.trades().length, 1, 'no trade started');
    const cancel = await fetch(`${buyer.apiUrl}/trades/${resting.tradeId}`, { method: 'DELETE', headers: auth(buyer) });
    assert.equal(cancel.status, 503, 'a resting bid is withdrawn only on the exchange');
    await market.restartExchange();
    await settle(market.clock, () => buyer.info().exchangeState === 'open', { stepMs: 1000, what: 'the daemon reconnecting' });
    assert.equal((await fetch(`${buyer.apiUrl}/account`)).status, 200);
  } finally {
    await market.stop();
  }
});

test('DELETE /trades/ID cancels a purchase before or while its bid rests, and says why not later', async () => {
  const market = await startMarket();
  try {
    const buyer = await market.daemon('buyer');
    await market.credit(buyer.identity.address, 10_000);
    // Waiting for permission (no mandate, no price): cancelled at once.
    const waiting = (await (await fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}?wait=600&async=1`, { method: 'POST', body: 'work', headers: auth(buyer) })).json()) as { tradeId: string };
    const cancelledWaiting = await fetch(`${buyer.apiUrl}/trades/${waiting.tradeId}`, { method: 'DELETE', headers: auth(buyer) });
    assert.equal(cancelledWaiting.status, 200, await cancelledWaiting.clone().text());
    assert.deepEqual(((await cancelledWaiting.json()) as { state: string; error: string }).error, 'cancelled by the user');
    // With its bid on the book: the bid is withdrawn and the money released.
    const bidding = (await (await fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=1000&async=1`, { method: 'POST', body: 'work', headers: auth(buyer) })).json()) as { tradeId: string };
    await settle(market.clock, () => buyer.trades().some((trade) => trade.tradeId === bidding.tradeId && trade.state.value === 'bidPlaced'), { what: 'the bid' });
    assert.ok((await balance(market, buyer.identity.address)).heldSats > 0, 'the bid holds money');
    const cancelled = await fetch(`${buyer.apiUrl}/trades/${bidding.tradeId}`, { method: 'DELETE', headers: auth(buyer) });
    assert.equal(cancelled.status, 200, await cancelled.clone().text());
    assert.deepEqual(await balance(market, buyer.identity.address), { availableSats: 10_000, heldSats: 0 });
    assert.equal(market.exchange.exchange.core.depth(TEST_HASH_ARTICLE, 20)!.bids.length, 0);
    const result = await fetch(`${buyer.apiUrl}/trades/${bidding.tradeId}/result`);
    assert.equal(result.status, 502);
    assert.match(await result.text(), /cancelled by the user/);
    // Once ended it cannot be cancelled again; a sale is not a purchase; an unknown id is 404.
    const again = await fetch(`${buyer.apiUrl}/trades/${bidding.tradeId}`, { method: 'DELETE', headers: auth(buyer) });
    assert.equal(again.status, 409);
    assert.match(await again.text(), /has ended \(failed\)/);
    assert.equal((await fetch(`${buyer.apiUrl}/trades/b-99`, { method: 'DELETE', headers: auth(buyer) })).status, 404);
    assert.equal((await fetch(`${buyer.apiUrl}/trades/${bidding.tradeId}`, { method: 'DELETE' })).status, 401, 'a change needs the token');
  } finally {
    await market.stop();
  }
});

test('a blocking purchase bounded by ?timeout= answers 202 with its progress, and carries on', async () => {
  const market = await startMarket();
  try {
    const buyer = await market.daemon('buyer');
    await market.credit(buyer.identity.address, 10_000);
    let response: Response | undefined;
    void fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=1000&timeout=5`, { method: 'POST', body: 'work', headers: auth(buyer) }).then((value) => (response = value));
    await settle(market.clock, () => response !== undefined, { what: 'the bounded answer' });
    assert.equal(response!.status, 202);
    const progress = (await response!.json()) as { tradeId: string; state: string; attempts: number; attemptsMax: number; updatedMs: number; phaseEndsMs: number };
    assert.equal(response!.headers.get('location'), `/trades/${progress.tradeId}`);
    assert.equal(progress.state, 'bidPlaced');
    assert.deepEqual([progress.attempts, progress.attemptsMax], [1, 3], 'bids placed, of how many');
    assert.equal(progress.phaseEndsMs, progress.updatedMs + 120_000, 'the bid\'s end: its lifetime after it was placed');
    // The trade carries on, and its result can be waited for, bounded again.
    let again: Response | undefined;
    void fetch(`${buyer.apiUrl}/trades/${progress.tradeId}/result?timeout=1`).then((value) => (again = value));
    await settle(market.clock, () => again !== undefined, { what: 'the second bounded answer' });
    assert.equal(again!.status, 202);
  } finally {
    await market.stop();
  }
});
