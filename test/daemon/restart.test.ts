// Goal: a daemon restart continues where it stopped: sell trade ids go on from the saved ones and
// never overwrite history (B6), and exactly one trade runs per worker. Method: a real exchange and
// daemon on a virtual clock (support/daemons.ts); a seller with a saved worker and a sell mandate
// stops and starts again on its data directory; the saved worker becomes idle while the daemon
// opens, before its saved trades are taken up.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { settle, startMarket, TEST_HASH_ARTICLE } from '../support/daemons.js';

test('after a restart sell trade ids continue from the saved ones; history is kept; one trade per worker', async () => {
  const market = await startMarket();
  try {
    const asks = () => market.exchange.exchange.core.depth(TEST_HASH_ARTICLE, 20)!.asks.reduce((sum, level) => sum + level.count, 0);
    let daemon = await market.daemon('seller');
    await market.worker(daemon, 'seller-worker');
    await daemon.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 777 });
    await settle(market.clock, () => asks() === 1, { what: 'the sell bid' });
    await daemon.stop();
    for (let restart = 1; restart <= 2; restart++) {
      daemon = await market.daemon('seller');
      await settle(market.clock, () => daemon.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: `the sale after restart ${restart}` });
      const sales = (await (await fetch(`${daemon.apiUrl}/trades`)).json()) as Array<{ tradeId: string; state: string; error: string | null }>;
      const expected = [...Array.from({ length: restart }, (_, index) => ({ tradeId: `s-${index + 1}`, state: 'ended', error: 'withdrawn: the daemon stopped' })), { tradeId: `s-${restart + 1}`, state: 'bidPlaced', error: null }];
      assert.deepEqual(sales.map(({ tradeId, state, error }) => ({ tradeId, state, error })), expected);
      assert.equal(asks(), 1, 'one sell bid for one worker');
      await daemon.stop();
    }
  } finally {
    await market.stop();
  }
});

test('the peer port is kept across restarts; when another program took it, a free one is used', async () => {
  const market = await startMarket();
  try {
    let daemon = await market.daemon('seller');
    const port = Number(new URL(daemon.peerUrl).port);
    await daemon.stop();
    daemon = await market.daemon('seller');
    assert.equal(Number(new URL(daemon.peerUrl).port), port);
    await daemon.stop();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      daemon = await market.daemon('seller');
      assert.notEqual(Number(new URL(daemon.peerUrl).port), port);
    } finally {
      squatter.close();
    }
  } finally {
    await market.stop();
  }
});
