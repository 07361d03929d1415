// Goal: a buy mandate's trades are spent by purchases that place a bid, and only by those (B7): a
// purchase the exchange refuses to bid for (no money) leaves the mandate as it was, and two
// purchases cleared at once by a one-trade mandate do not both get it. Method: a real exchange and
// buyer daemon on a virtual clock (support/daemons.ts), purchases through the local API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auth, settle, startMarket, TEST_HASH_ARTICLE } from '../support/daemons.js';

test('a purchase that never placed a bid does not spend a trade of its mandate', async () => {
  const market = await startMarket();
  try {
    const buyer = await market.daemon('buyer');
    await buyer.mandates.add({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 1200, trades: 1 });
    const refused = await fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: 'work', headers: auth(buyer) });
    const answer = await refused.text();
    assert.notEqual(refused.status, 200, answer);
    assert.match(answer, /insufficient|funds|5001/i);
    assert.deepEqual(buyer.mandates.list().map((mandate) => mandate.tradesLeft), [1], 'the refused purchase spent nothing');

    await market.credit(buyer.identity.address, 10_000);
    // The bidding purchase waits for a seller until the market stops (then its request fails).
    void ['one', 'two'].map((work) => fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: work, headers: auth(buyer) }).catch(() => undefined));
    const buyBids = () => market.exchange.exchange.core.depth(TEST_HASH_ARTICLE, 20)!.bids.reduce((sum, level) => sum + level.count, 0);
    await settle(market.clock, () => buyBids() === 1 && buyer.trades().filter((trade) => trade.state.value === 'failed').length === 2 && buyer.mandates.list().length === 0, { what: 'one bid placed, the other purchase refused, the mandate spent' });
    assert.equal(buyBids(), 1, 'one bid for the one trade the mandate allows');
    assert.deepEqual(buyer.mandates.list(), [], 'the mandate is spent by the purchase that bid');
  } finally {
    await market.stop();
  }
});
