// Goal: a worker that is removed (DELETE /workers/ID, or its program stopping: Ctrl-C on `bitwrk
// worker` unregisters) leaves no sell bid behind for a buyer to match (B2). Method: a real
// exchange and seller daemon on a virtual clock (support/daemons.ts), two workers each with a sell
// bid; one is deleted through the local API, the other stops; the book must then hold no ask.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auth, settle, startMarket, TEST_HASH_ARTICLE } from '../support/daemons.js';

test('removing a worker or stopping its program withdraws its waiting sell bid', async () => {
  const market = await startMarket();
  try {
    const asks = () => market.exchange.exchange.core.depth(TEST_HASH_ARTICLE, 20)!.asks.reduce((sum, level) => sum + level.count, 0);
    const daemon = await market.daemon('seller');
    await market.worker(daemon, 'deleted-worker');
    const stopping = await market.worker(daemon, 'stopping-worker');
    await daemon.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 900 });
    await settle(market.clock, () => asks() === 2, { what: 'two sell bids' });
    const deleted = await fetch(`${daemon.apiUrl}/workers/deleted-worker`, { method: 'DELETE', headers: auth(daemon) });
    assert.equal(deleted.status, 200, await deleted.text());
    const ended = () => daemon.trades().filter((trade) => trade.state.value === 'ended').length;
    await settle(market.clock, () => asks() === 1 && ended() === 1, { what: 'the deleted worker\'s bid withdrawn' });
    await stopping.stop();
    await settle(market.clock, () => asks() === 0 && ended() === 2, { what: 'the stopped worker\'s bid withdrawn' });
    const sales = daemon.trades().map((trade) => ({ value: trade.state.value, error: trade.state.context.error }));
    assert.deepEqual(sales.sort((a, b) => String(a.error).localeCompare(String(b.error))), [
      { value: 'ended', error: 'withdrawn: worker deleted-worker was removed' },
      { value: 'ended', error: 'withdrawn: worker stopping-worker was removed' },
    ]);
  } finally {
    await market.stop();
  }
});
