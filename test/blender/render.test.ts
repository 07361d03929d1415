// Goal: a Blender scene rendered through the market equals a direct render pixel for pixel, and
// the parts that make that true hold: packing makes the scene self-contained (an external image
// texture, a linked library), tile borders land on whole pixels where Blender truncates border
// fractions (350 x 194 in a 3 x 3 grid: x = 116 and y = 64 start a pixel early with naive
// fractions), adaptive sampling is exact with overscan and not without, the compositor runs on the
// stitched frame (glare across tile edges), and a second frame reuses the chunks the seller holds.
// Method: real Blender, a real exchange and two daemons on the real clock, `bitwrk render` and
// `bitwrk worker blender --jobs 2` as their own processes; the worker runs in another folder
// with another HOME, and the packed scene names none of the buyer's paths. Floats are compared
// decoded (compare.py); the failure message gives the largest difference.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeJobHeader } from '../../src/blender/job.js';
import { startWorkerServer } from '../../src/daemon/worker-server.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { ARTICLE, bitwrk, BIN, blendersUnder, compareImages, directRender, makeScene, NO_BLENDER, startRealMarket, summaryOf, until, type RealMarket } from './support.js';

describe('Blender through the market', { skip: NO_BLENDER === undefined ? false : `Blender cannot run here: ${NO_BLENDER}` }, () => {
  let dir: string;
  let market: RealMarket;
  let worker: WorkerProcess;
  let sellerHome: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitwrk-blender-test-'));
    market = await startRealMarket(dir);
    sellerHome = join(dir, 'seller-home');
    mkdirSync(sellerHome);
    worker = await startWorkerProcess(market.seller.apiUrl, market.seller.apiToken, 'blender', {
      kind: 'blender',
      args: ['--jobs', '2', '--threads', '1'],
      cwd: sellerHome,
      env: { HOME: sellerHome, TMPDIR: sellerHome },
    });
    await market.seller.mandates.add({ side: 'sell', article: ARTICLE, priceSats: 100 });
  });
  after(async () => {
    await worker?.stop();
    await market?.stop();
  });

  test('two frames in a 3 x 3 grid equal direct renders; frame 2 sends few new bytes', async (t) => {
    const sceneDir = join(dir, 'scene');
    const scene = await makeScene(sceneDir, { width: 350, height: 194 });
    const out = join(dir, 'out');
    const run = await bitwrk(['render', scene, '--frames', '1-2', '--grid', '3x3', '--max-price', '200', '--concurrency', '2', '--output', out, '--daemon', market.buyer.apiUrl, '--json', '--keep'], market.buyer.apiToken);
    const summary = summaryOf(run);
    assert.deepEqual(summary.grid, { columns: 3, rows: 3 });
    for (const frame of [1, 2]) {
      const result = summary.frames.find((entry) => entry.frame === frame)!;
      assert.ok(result.ok, `frame ${frame}: ${result.error}`);
      const comparison = await compareImages(await directRender(scene, join(dir, 'direct'), frame), join(out, `000${frame}.exr`), dir);
      assert.deepEqual(comparison.sizes, [[350, 194], [350, 194]]);
      assert.equal(comparison.maxDifference, 0, `frame ${frame}: ${comparison.differing} channel values differ, the largest by ${comparison.maxDifference}`);
    }
    // The packed scene is self-contained: it names no path of the buyer's scene folder.
    const packedDir = /folder (\S+)/.exec(run.stderr)?.[1];
    assert.ok(packedDir !== undefined, `no packed folder in: ${run.stderr.slice(0, 500)}`);
    const packedBlend = readFileSync(join(packedDir, 'scene.blend'));
    assert.equal(packedBlend.includes(sceneDir), false, 'the packed .blend names the buyer\'s folder');
    assert.deepEqual(readdirSync(join(packedDir, 'rsrc')).length, 1, 'the texture is shipped');
    const packedBytes = summary.frames[0]!.jobBytes / summary.frames[0]!.purchases;
    const frame2 = summary.frames.find((entry) => entry.frame === 2)!;
    t.diagnostic(`job ${packedBytes} bytes; frame 1 sent ${summary.frames[0]!.bytesSent}, frame 2 sent ${frame2.bytesSent} (${((100 * frame2.bytesSent) / packedBytes).toFixed(2)}% of one job) for ${frame2.purchases} tiles`);
    assert.ok(frame2.bytesSent <= 0.05 * packedBytes, `frame 2 sent ${frame2.bytesSent} bytes for ${frame2.purchases} tiles, more than 5% of the ${packedBytes}-byte job`);
  });

  test('the compositor runs once on the stitched frame: glare across tile edges and Filmic PNG equal the direct render', async () => {
    // Glare spreads light over many pixels: run per tile it would stop at the tile edges.
    const scene = await makeScene(join(dir, 'composited'), { width: 200, height: 112, compositor: true });
    const out = join(dir, 'composited-out');
    const summary = summaryOf(await bitwrk(['render', scene, '--grid', '2x2', '--max-price', '200', '--concurrency', '2', '--output', out, '--daemon', market.buyer.apiUrl, '--json'], market.buyer.apiToken));
    assert.deepEqual(summary.frames[0]!.paths.map((path) => path.slice(out.length + 1)), ['0001.png', '0001.exr'], 'the composited frame in the scene\'s format and the frame as rendered');
    const comparison = await compareImages(await directRender(scene, join(dir, 'composited-direct'), 1, '.png'), join(out, '0001.png'), dir);
    assert.deepEqual(comparison.sizes, [[200, 112], [200, 112]]);
    assert.equal(comparison.maxDifference, 0, `${comparison.differing} channel values differ, the largest by ${comparison.maxDifference}`);
  });

  test('a tile above the cost class: the seller\'s worker refuses it, the daemon rejects the work, the buyer is refunded', async () => {
    const scene = await makeScene(join(dir, 'costly'), { width: 64, height: 36, samples: 100_000 });
    const blend = readFileSync(scene);
    const job = Buffer.concat([encodeJobHeader({ frame: 1, width: 64, height: 36, rendered: { x: 0, y: 0, width: 64, height: 36 }, resources: [], blendSize: blend.length }), blend]);
    const before = market.exchange.exchange.core.account(market.buyer.identity.address)!;
    const headers = { authorization: `Bearer ${market.buyer.apiToken}`, 'content-type': 'application/octet-stream' };
    // The refused attempt's seller is avoided afterwards, so the next bid waits for another seller: look at it after the refusal, then cancel.
    const response = await fetch(`${market.buyer.apiUrl}/buy/${ARTICLE}?price=200&timeout=15`, { method: 'POST', body: job, headers });
    const answer = (await response.json()) as { tradeId: string; error: string | null; avoid: string[] };
    assert.equal(response.status, 202);
    assert.match(answer.error ?? '', /costs 921600000 rays/);
    assert.deepEqual(answer.avoid, [market.seller.identity.address], 'the refusing seller is avoided by the next bid');
    const cancelled = await fetch(`${market.buyer.apiUrl}/trades/${answer.tradeId}`, { method: 'DELETE', headers: { authorization: headers.authorization } });
    assert.equal(cancelled.status, 200, await cancelled.text());
    const afterwards = market.exchange.exchange.core.account(market.buyer.identity.address)!;
    assert.deepEqual({ available: afterwards.availableSats, held: afterwards.heldSats }, { available: before.availableSats, held: before.heldSats }, 'the buyer paid nothing and holds nothing');
  });

  test('a wrong API token: bitwrk render stops at once, saying so, and buys nothing', async () => {
    const scene = await makeScene(join(dir, 'wrong-token'), { width: 64, height: 36 });
    const run = await bitwrk(['render', scene, '--max-price', '200', '--output', join(dir, 'wrong-token-out'), '--daemon', market.buyer.apiUrl], 'not-the-token');
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /the token sent is not this daemon's/);
    assert.doesNotMatch(run.stderr, /packed:/, 'it stopped before packing');
  });

  test('Open Shading Language: a seller without it serves no OSL article, and an OSL scene is not bought on an article without it', async (t) => {
    const worker = await bitwrk(['worker', 'blender', '--osl', '--daemon', market.seller.apiUrl, '--token', 'unused'], '');
    if (worker.code !== 2 && /OSL yes/.test(worker.stdout)) return t.skip('this Blender has OSL');
    assert.equal(worker.code, 2, worker.stdout + worker.stderr);
    assert.match(worker.stderr, /--osl: this Blender .* is built without Open Shading Language/);
    const scene = await makeScene(join(dir, 'osl'), { width: 64, height: 36, osl: true });
    const before = market.exchange.exchange.core.account(market.buyer.identity.address)!;
    const run = await bitwrk(['render', scene, '--article', ARTICLE, '--max-price', '200', '--output', join(dir, 'osl-out'), '--daemon', market.buyer.apiUrl], market.buyer.apiToken);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, new RegExp(`uses Open Shading Language, which ${ARTICLE.replaceAll('.', '\\.')} does not promise: buy ${ARTICLE.replace('/cycles/', '/cycles-osl/').replaceAll('.', '\\.')}`));
    const afterwards = market.exchange.exchange.core.account(market.buyer.identity.address)!;
    assert.deepEqual({ available: afterwards.availableSats, held: afterwards.heldSats }, { available: before.availableSats, held: before.heldSats }, 'nothing was bought');
  });

  test('a tile that comes back as no image is rejected before it is paid and bought from another seller: the cheat earns nothing, the frame is exact', async () => {
    // The cheat undercuts the honest seller and answers every tile with bytes that are no image.
    const cheat = await market.addSeller('cheat');
    const cheating = await startWorkerServer({ daemonUrl: cheat.apiUrl, token: cheat.apiToken, id: 'cheat', article: ARTICLE, compute: () => new TextEncoder().encode('not an image') });
    try {
      await cheat.mandates.add({ side: 'sell', article: ARTICLE, priceSats: 50 });
      await until(() => cheat.trades().some((trade) => trade.state.value === 'bidPlaced'), 10_000, 'the cheat\'s bid');
      const scene = await makeScene(join(dir, 'cheated'), { width: 96, height: 54 });
      const out = join(dir, 'cheated-out');
      const summary = summaryOf(await bitwrk(['render', scene, '--grid', '2x2', '--retries', '1', '--max-price', '200', '--concurrency', '2', '--output', out, '--daemon', market.buyer.apiUrl, '--json'], market.buyer.apiToken));
      const frame = summary.frames[0]!;
      assert.ok(frame.ok, frame.error);
      // The buyer's daemon checks each tile's form before it signs the receipt: the cheat's bytes
      // are rejected (nothing paid) and the daemon's next attempt avoids the cheat.
      const cheated = cheat.trades().filter((trade) => trade.side === 'sell' && (trade.state.context as { txId?: string | null }).txId != null).length;
      assert.ok(cheated >= 1, 'the cheat was matched with at least one tile (it was the cheapest)');
      assert.equal(market.exchange.exchange.core.account(cheat.identity.address)?.availableSats ?? 0, 0, 'the cheat was paid nothing');
      const retried = market.buyer.trades().filter((trade) => trade.side === 'buy' && ((trade.state.context as { avoid?: readonly string[] }).avoid ?? []).includes(cheat.identity.address));
      assert.ok(retried.length >= 1, 'a purchase the cheat failed was done by another seller');
      const comparison = await compareImages(await directRender(scene, join(dir, 'cheated-direct'), 1), join(out, '0001.exr'), dir);
      assert.equal(comparison.maxDifference, 0, `${comparison.differing} channel values differ, the largest by ${comparison.maxDifference}`);
    } finally {
      await cheating.stop();
      await cheat.stop();
    }
  });

  test('Ctrl-C on bitwrk render mid-frame: the seller\'s Blender processes are gone within 5 s, the holds are released', async (t) => {
    const scene = await makeScene(join(dir, 'slow'), { width: 350, height: 194, samples: 512 });
    const heldBefore = market.exchange.exchange.core.account(market.buyer.identity.address)!.heldSats;
    const child = spawn(process.execPath, [BIN, 'render', scene, '--grid', '2x2', '--max-price', '200', '--concurrency', '2', '--output', join(dir, 'slow-out'), '--daemon', market.buyer.apiUrl], { env: { ...process.env, BITWRK_API_TOKEN: market.buyer.apiToken }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await until(() => blendersUnder(sellerHome) >= 1, 60_000, `a render on the seller (${stderr.slice(-500)})`);
    child.kill('SIGINT');
    const cancelledAt = performance.now();
    await until(() => blendersUnder(sellerHome) === 0, 5_000, 'the seller\'s Blender processes gone');
    t.diagnostic(`seller's Blender gone ${(performance.now() - cancelledAt).toFixed(0)} ms after Ctrl-C`);
    assert.equal(await exited, 130, stderr.slice(-2000));
    // Disputes of earlier tests keep their money held for their window: this render's holds are gone.
    await until(() => market.exchange.exchange.core.account(market.buyer.identity.address)!.heldSats === heldBefore, 10_000, 'the buyer\'s holds released');
  });

  test('adaptive sampling: tiles with overscan equal the direct render, tiles without it do not', async () => {
    const scene = await makeScene(join(dir, 'adaptive'), { width: 240, height: 136, samples: 32, adaptive: true });
    const direct = await directRender(scene, join(dir, 'adaptive-direct'), 1);
    const compare = async (overscan: number): Promise<number | null> => {
      const out = join(dir, `adaptive-${overscan}`);
      summaryOf(await bitwrk(['render', scene, '--grid', '2x2', '--overscan', String(overscan), '--max-price', '200', '--concurrency', '2', '--output', out, '--daemon', market.buyer.apiUrl, '--json'], market.buyer.apiToken));
      return (await compareImages(direct, join(out, '0001.exr'), dir)).maxDifference;
    };
    assert.equal(await compare(8), 0, 'with 8 px of overscan the tiles are exact');
    assert.ok(((await compare(0)) ?? 0) > 0, 'without overscan adaptive sampling differs at the tile edges (the overscan matters)');
  });
});
