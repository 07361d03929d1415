// Goal: the Blender add-on renders through the market from Blender's own render operator, as F12
// does: it installs and enables in a fresh profile, a background render with engine BitWrk equals a
// direct Cycles render pixel for pixel, tiles are written into the result as they arrive, a
// cancelled render leaves no open purchase and no Blender on the seller, and an animation's later
// frames send few bytes. The add-on's pure parts have unit tests run by Blender's own Python.
// Method: real Blender (the add-on zip from `npm run build:blender` installed into a temporary
// user profile), a real exchange and two daemons on the real clock, `bitwrk worker blender` as its
// own process in another folder and HOME; the add-on runs `bitwrk render` (node bin/bitwrk.js).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildBlenderAddon } from '../../scripts/build-blender-addon.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { ARTICLE, blendersUnder, blenderWithAddon, compareImages, directRender, makeScene, NO_BLENDER, startRealMarket, until, type RealMarket } from './support.js';

const TESTS = fileURLToPath(new URL('../../blender/tests/', import.meta.url));

test('the add-on\'s pure parts: unit tests in Blender\'s own Python', { skip: NO_BLENDER === undefined ? false : `Blender cannot run here: ${NO_BLENDER}` }, () => {
  const run = spawnSync('blender', ['-b', '--factory-startup', '-noaudio', '--python-exit-code', '1', '-P', join(TESTS, 'test_core.py')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`.slice(-4000));
  assert.match(run.stderr, /Ran \d+ tests/);
});

describe('the BitWrk render engine in Blender', { skip: NO_BLENDER === undefined ? false : `Blender cannot run here: ${NO_BLENDER}` }, () => {
  let dir: string;
  let market: RealMarket;
  let worker: WorkerProcess;
  let sellerHome: string;
  let zip: string;
  let settings: Record<string, unknown>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitwrk-addon-test-'));
    zip = buildBlenderAddon(join(dir, 'dist'));
    market = await startRealMarket(dir);
    sellerHome = join(dir, 'seller-home');
    mkdirSync(sellerHome);
    worker = await startWorkerProcess(market.seller.apiUrl, market.seller.apiToken, 'blender', { kind: 'blender', args: ['--jobs', '2', '--threads', '1'], cwd: sellerHome, env: { HOME: sellerHome, TMPDIR: sellerHome } });
    await market.seller.mandates.add({ side: 'sell', article: ARTICLE, priceSats: 100 });
    settings = { daemon_url: market.buyer.apiUrl, api_token: market.buyer.apiToken, max_price_sats: 200, concurrency: 2 };
  });
  after(async () => {
    await worker?.stop();
    await market?.stop();
  });

  test('Render with engine BitWrk: the frame equals a direct Cycles render, tile by tile into the result', async (t) => {
    // Adaptive sampling: the tiles carry an overscan, so each is cut out of a larger image.
    const scene = await makeScene(join(dir, 'scene'), { width: 160, height: 90, samples: 32, adaptive: true });
    const out = join(dir, 'out');
    const openWhenWritten: number[] = [];
    const run = await blenderWithAddon(scene, { zip, settings: { ...settings, concurrency: 4 }, output: join(out, 'frame') }, join(dir, 'profile'), {
      onLine: (line) => {
        // Purchases still open as a tile is written: tiles that had not arrived yet.
        if (/written into the result/.test(line)) openWhenWritten.push(market.buyer.trades().filter((trade) => trade.side === 'buy' && !trade.isFinal).length);
      },
    });
    assert.equal(run.code, 0, run.output.slice(-4000));
    assert.match(run.output, /BitWrk test: engine BITWRK, Cycles panels shown for it: [1-9]\d*/);
    const written = [...run.output.matchAll(/BitWrk: tile \d+,\d+ written into the result \((\d+)\/(\d+)\)/g)];
    const tiles = Number(written[0]?.[2] ?? 0);
    assert.ok(tiles >= 4, `4 tiles or more:\n${run.output.slice(-3000)}`);
    assert.equal(written.length, tiles, 'each tile written once');
    t.diagnostic(`${tiles} tiles; purchases still open as each was written: ${openWhenWritten.join(', ')}`);
    assert.ok(openWhenWritten.filter((open) => open > 0).length >= 2, `more than one tile was in the result before the last arrived (open purchases at each write: ${openWhenWritten.join(', ')})`);
    const comparison = await compareImages(await directRender(scene, join(dir, 'direct'), 1), join(out, 'frame.exr'), dir);
    assert.deepEqual(comparison.sizes, [[160, 90], [160, 90]]);
    assert.equal(comparison.maxDifference, 0, `${comparison.differing} channel values differ, the largest by ${comparison.maxDifference}`);
  });

  test('an animation of 3 frames: each equals its direct render, frames 2 and 3 send at most 5% of frame 1\'s bytes', async (t) => {
    const scene = await makeScene(join(dir, 'anim'), { width: 128, height: 72 });
    const out = join(dir, 'anim-out');
    const run = await blenderWithAddon(scene, { zip, settings, output: join(out, 'anim-####'), animation: true, frames: [1, 3] }, join(dir, 'profile'));
    assert.equal(run.code, 0, run.output.slice(-4000));
    const sent = new Map([...run.output.matchAll(/BitWrk: frame (\d+) complete: \d+ purchases, \d+ sat, (\d+) bytes sent of (\d+) bytes of jobs/g)].map((match) => [Number(match[1]), Number(match[2])]));
    assert.deepEqual([...sent.keys()], [1, 2, 3], run.output.slice(-3000));
    t.diagnostic(`bytes sent: frame 1 ${sent.get(1)}, frame 2 ${sent.get(2)}, frame 3 ${sent.get(3)}`);
    for (const frame of [2, 3]) assert.ok(sent.get(frame)! <= 0.05 * sent.get(1)!, `frame ${frame} sent ${sent.get(frame)} bytes, more than 5% of frame 1's ${sent.get(1)}`);
    for (const frame of [1, 3]) {
      const comparison = await compareImages(await directRender(scene, join(dir, 'anim-direct'), frame), join(out, `anim-000${frame}.exr`), dir);
      assert.equal(comparison.maxDifference, 0, `frame ${frame}: ${comparison.differing} channel values differ, the largest by ${comparison.maxDifference}`);
    }
  });

  test('a render cancelled mid-frame (a break, as Esc): no purchase stays open, no Blender stays on the seller', async (t) => {
    const scene = await makeScene(join(dir, 'slow'), { width: 350, height: 194, samples: 512 });
    const heldBefore = market.exchange.exchange.core.account(market.buyer.identity.address)!.heldSats;
    let broke = false;
    let brokeAt = 0;
    const run = await blenderWithAddon(scene, { zip, settings, output: join(dir, 'slow-out', 'frame') }, join(dir, 'profile'), {
      onLine: (line, child) => {
        // Once a tile is bought, break the render as Esc does (in background mode Blender breaks on SIGINT).
        if (!broke && /BitWrk: \d+\/\d+ tiles/.test(line) && blendersUnder(sellerHome) >= 1) {
          broke = true;
          brokeAt = performance.now();
          child.kill('SIGINT');
        }
      },
    });
    const returnedAt = performance.now();
    assert.ok(broke, `the render was never under way on the seller:\n${run.output.slice(-3000)}`);
    assert.match(run.output, /BitWrk: render cancelled/, run.output.slice(-3000));
    await until(() => blendersUnder(sellerHome) === 0, Math.max(0, brokeAt + 5_000 - performance.now()), 'the seller\'s Blender processes gone within 5 s of the break');
    t.diagnostic(`the render returned ${(returnedAt - brokeAt).toFixed(0)} ms after the break; the seller's Blender was gone ${(performance.now() - brokeAt).toFixed(0)} ms after it`);
    await until(() => market.buyer.trades().every((trade) => trade.side !== 'buy' || trade.isFinal), 10_000, 'every purchase final');
    // Disputes of earlier tests keep their money held for their window: this render's holds are gone.
    await until(() => market.exchange.exchange.core.account(market.buyer.identity.address)!.heldSats === heldBefore, 10_000, 'the buyer\'s holds released');
  });

  test('what stops a render is said in words: the daemon not running, a wrong token, no mandate', async () => {
    const scene = await makeScene(join(dir, 'refused'), { width: 64, height: 36 });
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['no daemon', { daemon_url: 'http://127.0.0.1:9' }, /does not answer .*is it running\? Start it with "bitwrk daemon"/],
      ['a wrong token', { api_token: 'not-the-token' }, /the token sent is not this daemon's.*HTTP 401.*No valid API token/],
      ['no mandate and no price', { max_price_sats: 0 }, /No buy mandate allows this purchase: set "Max price per tile", or create a mandate/],
    ];
    for (const [what, change, expected] of cases) {
      const run = await blenderWithAddon(scene, { zip, settings: { ...settings, ...change }, output: join(dir, 'refused-out', 'frame') }, join(dir, 'profile'));
      const error = /BitWrk: error: (.*)/.exec(run.output)?.[1] ?? '';
      assert.match(error, expected, `${what}:\n${run.output.slice(-2500)}`);
    }
    assert.equal(market.buyer.trades().filter((trade) => trade.side === 'buy' && !trade.isFinal).length, 0, 'no purchase was left open');
  });

  test('"Also render on this computer": the add-on starts a worker of this Blender and the daemon gives it the tiles first', async () => {
    const scene = await makeScene(join(dir, 'local'), { width: 64, height: 36 });
    const before = new Set(market.buyer.trades().map((trade) => trade.tradeId));
    const run = await blenderWithAddon(scene, { zip, settings: { ...settings, concurrency: 2, render_locally: true }, output: join(dir, 'local-out', 'frame') }, join(dir, 'profile'));
    assert.equal(run.code, 0, run.output.slice(-4000));
    assert.doesNotMatch(run.output, /did not register in time/);
    const trades = market.buyer.trades().filter((trade) => trade.side === 'buy' && !before.has(trade.tradeId));
    const local = trades.filter((trade) => String((trade.state.context as { clearedBy?: string }).clearedBy ?? '').startsWith('local:blender-addon-'));
    assert.ok(local.length >= 1, `a tile went to the add-on's own worker (cleared by: ${trades.map((trade) => (trade.state.context as { clearedBy?: string }).clearedBy).join(', ')})`);
    await until(() => market.buyer.workers.list().every((worker) => !worker.id.startsWith('blender-addon-')), 10_000, 'the add-on\'s worker gone with its Blender');
    const comparison = await compareImages(await directRender(scene, join(dir, 'local-direct'), 1), join(dir, 'local-out', 'frame.exr'), dir);
    assert.equal(comparison.maxDifference, 0, `${comparison.differing} channel values differ, the largest by ${comparison.maxDifference}`);
  });
});
