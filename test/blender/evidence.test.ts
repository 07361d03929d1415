// Goal: a Blender dispute ends by evidence, without a person: a cheat's tile fails the buyer's
// check, the buyer's daemon buys the same tile from two other sellers, whose tiles are equal byte
// for byte (the pinned CPU kernel, normalised EXR), and the exchange settles by the majority of
// their signed result hashes: the buyer is refunded at once, the cheat paid nothing, the frame
// exact. Method: real Blender, a real exchange and daemons on the real clock; two honest sellers
// as `bitwrk worker blender` processes in their own folders with other thread counts.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startWorkerServer } from '../../src/daemon/worker-server.js';
import type { WorkerProcess } from '../support/worker-process.js';
import { ARTICLE, bitwrk, compareImages, directRender, makeScene, NO_BLENDER, startBlenderWorker, startRealMarket, summaryOf, until, type RealMarket } from './support.js';

describe('Blender disputes by evidence', { skip: NO_BLENDER === undefined ? false : `Blender cannot run here: ${NO_BLENDER}` }, () => {
  let dir: string;
  let market: RealMarket;
  let worker: WorkerProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitwrk-blender-evidence-'));
    market = await startRealMarket(dir);
    const sellerHome = join(dir, 'seller-home');
    worker = await startBlenderWorker(market.seller, sellerHome, 2, 1);
    await market.seller.mandates.add({ side: 'sell', article: ARTICLE, priceSats: 100 });
  });
  after(async () => {
    await worker?.stop();
    await market?.stop();
  });

  test('a Blender dispute ends by evidence: a cheat\'s tile is outvoted by two other sellers\' byte-identical tiles, the buyer is refunded at once, the frame is exact', async () => {
    // A second honest seller (its own daemon and worker, another folder and thread count) and a cheat that undercuts both.
    const second = await market.addSeller('second-honest');
    const secondWorker = await startBlenderWorker(second, join(dir, 'second-home'), 1, 2);
    const cheat = await market.addSeller('evidence-cheat');
    const cheating = await startWorkerServer({ daemonUrl: cheat.apiUrl, token: cheat.apiToken, id: 'cheat', article: ARTICLE, compute: () => new TextEncoder().encode('not an image') });
    try {
      await second.mandates.add({ side: 'sell', article: ARTICLE, priceSats: 100 });
      await cheat.mandates.add({ side: 'sell', article: ARTICLE, priceSats: 40 });
      await until(() => cheat.trades().some((trade) => trade.state.value === 'bidPlaced'), 10_000, 'the cheat\'s bid');
      await until(() => second.trades().some((trade) => trade.state.value === 'bidPlaced'), 30_000, 'the second seller\'s bid');
      const scene = await makeScene(join(dir, 'evidence'), { width: 64, height: 36 });
      const out = join(dir, 'evidence-out');
      const summary = summaryOf(await bitwrk(['render', scene, '--grid', '1x1', '--retries', '1', '--max-price', '200', '--output', out, '--daemon', market.buyer.apiUrl, '--json'], market.buyer.apiToken));
      assert.ok(summary.frames[0]!.ok, summary.frames[0]!.error);
      const lost = market.exchange.exchange.core.reputationOf(cheat.identity.address).sales.disputesLost;
      assert.ok(lost >= 1, `the cheat lost its dispute by evidence (${lost})`);
      assert.equal(market.exchange.exchange.core.account(cheat.identity.address)?.availableSats ?? 0, 0, 'the cheat was paid nothing');
      assert.deepEqual(market.exchange.exchange.core.disputes(100).filter((tx) => tx.seller === cheat.identity.address), [], 'no dispute of the cheat waits for the arbiter');
      const comparison = await compareImages(await directRender(scene, join(dir, 'evidence-direct'), 1), join(out, '0001.exr'), dir);
      assert.equal(comparison.maxDifference, 0, `${comparison.differing} channel values differ, the largest by ${comparison.maxDifference}`);
    } finally {
      await cheating.stop();
      await secondWorker.stop();
    }
  });

});
