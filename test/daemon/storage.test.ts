// Goal: a daemon's CAFS stays within its byte budget across purchases (it grew without bound
// before), while the newest results stay readable. Method: a daemon with its own worker buys work
// after work (each run locally, 40 KiB of distinct work) with a 100 KiB budget and 2 results kept,
// over real HTTP on a VirtualClock.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { readFileBytes } from '../../src/cafs/files.js';
import { hashWork } from '../../src/daemon/hash-work.js';
import { auth, settle, startMarket, TEST_HASH_ARTICLE, type Market } from '../support/daemons.js';

let market: Market;
before(async () => {
  market = await startMarket();
});
after(async () => {
  await market.stop();
});

test('purchase after purchase, the store keeps to its budget and the newest results', async () => {
  const budgetBytes = 100 * 1024;
  const daemon = await market.daemon('thrifty', { cafsBudgetBytes: budgetBytes, keepResults: 2 });
  await market.worker(daemon, 'own-worker');
  const results: Array<{ tradeId: string; expected: Uint8Array }> = [];
  for (let round = 0; round < 8; round++) {
    const work = new Uint8Array(randomBytes(40 * 1024));
    let response: Response | undefined;
    void fetch(`${daemon.apiUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: work, headers: auth(daemon) }).then((value) => (response = value));
    await settle(market.clock, () => response !== undefined, { what: `result ${round}` });
    assert.equal(response!.status, 200, await response!.clone().text());
    assert.deepEqual(new Uint8Array(await response!.arrayBuffer()), hashWork(work));
    results.push({ tradeId: response!.headers.get('x-bitwrk-trade')!, expected: hashWork(work) });
    await daemon.retention.idle();
    assert.ok(daemon.cafs.usage().bytes <= budgetBytes, `after purchase ${round + 1} the store holds ${daemon.cafs.usage().bytes} bytes, more than ${budgetBytes}`);
  }
  for (const { tradeId, expected } of results.slice(-2)) {
    const fileKey = daemon.buyer.actors.get(tradeId)!.state.context.resultFileKey!;
    const manifest = await daemon.cafs.loadFile(fileKey);
    assert.ok(manifest !== undefined, `the result of ${tradeId} was collected`);
    assert.deepEqual(await readFileBytes(daemon.cafs, manifest), expected);
  }
});
