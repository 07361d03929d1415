// Goal: the exchange's HTTP API answers as docs/http-api.md says, from the live exchange: articles,
// depth, price history after real trades, info, health and Prometheus metrics; every bad request
// gets the documented status and error body. Method: a real server (startExchangeServer, the same
// code as `bitwrk exchange`) on 127.0.0.1, trades placed over WebSockets, node's fetch; and a
// fast-check property comparing candles with a naive recomputation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { realClock } from '../../src/clock.js';
import { ExchangeClient } from '../../src/daemon/exchange-client.js';
import { exchangeProtocol } from '../../src/protocol/exchange.js';
import { startExchangeServer } from '../../src/server/serve.js';
import { PriceHistory, MINUTE_MS } from '../../src/server/candles.js';
import { TEST_HASH_ARTICLE } from '../../src/market/catalogue.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { newIdentity } from '../support/exchange.js';

test('the HTTP API over a live exchange, and every error path', async () => {
  const admin = newIdentity();
  const server = await startExchangeServer({ clock: realClock, host: '127.0.0.1', port: 0, dataDir: mkdtempSync(join(tmpdir(), 'bitwrk-http-')), exchangeId: 'bitwrk-http', network: 'testnet', adminAddress: admin.address, workers: 1 });
  const get = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${server.httpUrl}${path}`, init);
    const text = await response.text();
    return { status: response.status, type: response.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) as Record<string, any> };
  };
  try {
    const peer = new RpcPeer(await connectWebSocket(server.wsUrl, { clock: realClock }), exchangeProtocol, {}, { clock: realClock });
    const buyer = newIdentity();
    const seller = newIdentity();
    await new ExchangeClient(peer, admin, 'bitwrk-http', realClock).credit(buyer.address, 100_000);
    const sellerClient = new ExchangeClient(peer, seller, 'bitwrk-http', realClock);
    const buyerClient = new ExchangeClient(peer, buyer, 'bitwrk-http', realClock);
    await sellerClient.placeBid(TEST_HASH_ARTICLE, 'sell', 700);
    await buyerClient.placeBid(TEST_HASH_ARTICLE, 'buy', 800); // trades at 700
    await sellerClient.placeBid(TEST_HASH_ARTICLE, 'sell', 900); // rests
    await buyerClient.placeBid(TEST_HASH_ARTICLE, 'buy', 500_000).catch(() => undefined); // insufficient funds: a rejection
    const encoded = encodeURIComponent(TEST_HASH_ARTICLE);

    const articles = await get('/api/articles');
    assert.equal(articles.status, 200);
    assert.ok(articles.json().articles.some((article: { articleId: string }) => article.articleId === TEST_HASH_ARTICLE));
    const one = (await get(`/api/articles/${encoded}`)).json();
    assert.equal(one.lastTrade.priceSats, 700);
    const depth = (await get(`/api/articles/${encoded}/depth?levels=5`)).json();
    assert.deepEqual(depth.asks[0], { priceSats: 900, count: 1 });
    const prices = await get(`/api/articles/${encoded}/prices`); // the last 24 h in 1-hour slots
    assert.equal(prices.status, 200);
    const candle = prices.json().candles.at(-1);
    assert.deepEqual([candle.open, candle.close, candle.trades, candle.volumeSats], [700, 700, 1, 700]);
    assert.equal((await get('/api/info')).json().exchangeId, 'bitwrk-http');
    const health = await get('/health');
    assert.equal(health.status, 200);
    assert.equal(health.json().ok, true);
    const metrics = await get('/metrics');
    assert.match(metrics.type, /text\/plain; version=0.0.4/);
    for (const name of ['bitwrk_rejections_total{code="5007",name="insufficient_funds"} 1', 'bitwrk_connections 1', 'bitwrk_commands_total{outcome="accepted",type="placeBid"}', 'bitwrk_open_bids', 'bitwrk_active_transactions 1', 'bitwrk_verify_seconds_count', 'bitwrk_journal_lag_records 0']) {
      assert.ok(metrics.text.includes(name), `metrics lack ${name}`);
    }
    for (const line of metrics.text.trim().split('\n')) assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+-]+)$/, line);

    // Test errors by descending precedence.
    assert.equal((await get('/api/articles', { method: 'POST' })).status, 405);
    assert.equal((await get(`/api/articles/${encoded}/depth?levels=${'9'.repeat(600)}`)).status, 414);
    const badLevels = await get(`/api/articles/${encoded}/depth?levels=abc`);
    assert.equal(badLevels.status, 400);
    assert.match(badLevels.json().error.message, /"levels"/);
    assert.equal((await get(`/api/articles/${encoded}/depth?levels=1000`)).status, 400);
    assert.equal((await get(`/api/articles/${encoded}/prices?slot=5`)).status, 400);
    assert.equal((await get(`/api/articles/${encoded}/prices?from=10&to=5`)).status, 400);
    const unknown = await get('/api/articles/no%2Fsuch/depth');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json().error.code, 3001);
    assert.equal((await get('/nowhere')).status, 404);
    peer.close();
  } finally {
    await server.stop();
  }
});

test('candles agree with a naive recomputation from the raw trades, for any slot size', () => {
  const trade = fc.record({ article: fc.constantFrom('a', 'b'), priceSats: fc.integer({ min: 0, max: 1_000_000 }), offsetMs: fc.integer({ min: 0, max: 6 * 60 * MINUTE_MS }) });
  fc.assert(
    fc.property(fc.array(trade, { maxLength: 200 }), fc.integer({ min: 1, max: 90 }), (trades, slotMinutes) => {
      const startMs = 1_764_000_000_000 - (1_764_000_000_000 % MINUTE_MS);
      const sorted = trades.map((t) => ({ ...t, atMs: startMs + t.offsetMs })).sort((a, b) => a.atMs - b.atMs);
      const history = new PriceHistory();
      for (const t of sorted) history.record(t);
      const slotMs = slotMinutes * MINUTE_MS;
      const toMs = startMs + 7 * 60 * MINUTE_MS;
      const candles = history.candles('a', { fromMs: startMs, toMs, slotMs });
      assert.ok(Array.isArray(candles));
      const expected = new Map<number, { open: number; high: number; low: number; close: number; volumeSats: number; trades: number }>();
      for (const t of sorted.filter((x) => x.article === 'a')) {
        const slot = startMs + Math.floor((t.atMs - startMs) / slotMs) * slotMs;
        const e = expected.get(slot);
        expected.set(slot, e === undefined ? { open: t.priceSats, high: t.priceSats, low: t.priceSats, close: t.priceSats, volumeSats: t.priceSats, trades: 1 } : { open: e.open, high: Math.max(e.high, t.priceSats), low: Math.min(e.low, t.priceSats), close: t.priceSats, volumeSats: e.volumeSats + t.priceSats, trades: e.trades + 1 });
      }
      assert.deepEqual(candles, [...expected].sort(([a], [b]) => a - b).map(([slot, e]) => ({ startMs: slot, ...e })));
    }),
    { numRuns: 200 },
  );
});
