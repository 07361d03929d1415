// Goal: a daemon's waiting bids do not each ask the exchange for the participant view on every
// push. Every waiting bid checks its outcome after each push; the view holds all of the daemon's
// bids, so one request per waiter made each push cost O(bids²) on the exchange and on the daemon
// (a purchase took 380 ms and climbing with 32 workers on offer, 136 ms with the requests shared).
// Method: a seller with 12 workers on offer (12 bids waiting) sells once; the participant
// requests it makes are counted against the pushes it receives.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { hashWork } from '../../src/daemon/hash-work.js';
import { auth, settle, startMarket, TEST_HASH_ARTICLE, type Market } from '../support/daemons.js';

const WORKERS = 12;
let market: Market;
before(async () => {
  market = await startMarket();
});
after(async () => {
  await market.stop();
});

test(`${WORKERS} waiting bids share the participant requests a push sets off`, async () => {
  const seller = await market.daemon('many-workers');
  const buyer = await market.daemon('one-purchase');
  for (let index = 0; index < WORKERS; index++) await market.worker(seller, `w${index}`);
  await seller.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 1000 });
  await settle(market.clock, () => seller.trades().filter((trade) => trade.state.value === 'bidPlaced').length === WORKERS, { what: 'every worker on offer' });

  const connection = (seller.link as unknown as { connection: { request(name: string, body: unknown): Promise<unknown> } }).connection;
  const request = connection.request.bind(connection);
  let views = 0;
  connection.request = (name, body) => {
    if (name === 'participant') views++;
    return request(name, body);
  };
  let pushes = 0;
  seller.link.onEvent(() => pushes++);

  await market.credit(buyer.identity.address, 10_000);
  await buyer.mandates.add({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 1200, trades: 1 });
  const work = new Uint8Array(randomBytes(1024));
  let response: Response | undefined;
  void fetch(`${buyer.apiUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: work, headers: auth(buyer) }).then((value) => (response = value));
  await settle(market.clock, () => response !== undefined, { what: 'the result', stepMs: 20 });
  assert.equal(response!.status, 200, await response!.clone().text());
  assert.deepEqual(new Uint8Array(await response!.arrayBuffer()), hashWork(work));
  assert.ok(pushes > 0, 'the sale pushed events to the seller');
  // Shared: at most the request on the wire and the one queued behind it per push (and per poll round).
  assert.ok(views <= 2 * pushes + 4, `${views} participant requests for ${pushes} pushes with ${WORKERS} bids waiting`);
});
