// Blender benchmark: one frame of a fixed test scene rendered directly (`blender -b SCENE -f 1`)
// and through the market (an exchange, a buyer daemon and a seller daemon with two Blender
// render slots on this machine, 4 tiles), in the same run:
//  - seconds each (the direct render single-threaded, as each tile is, so that machine times compare);
//  - overhead per tile: the tiles' Blender time beyond what their pixels cost in the direct render
//    (start-up, loading, sync; the goal is under 1.5 s);
//  - machine time through the market (packing, every tile's Blender, stitching) over the direct
//    render's (the goal is at most 1.3 x at 4 tiles);
//  - the same two figures against a reference at the tiles' load: two direct renders at once (the
//    tiles render two at a time, which could slow each through shared caches). The machine's speed
//    drifts by 10-30% between runs, so the direct render is timed before and after the market and
//    the mean taken;
//  - bytes on the wire to the seller for frame 1 and for frame 2 (CAFS sends only new chunks);
//  - frame 1 again through the Blender add-on (a Blender with engine BitWrk, as F12 does): its
//    wall time from Blender's start to its exit, and the same overhead per tile.
// It skips, saying why, where Blender cannot run.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { blenderMissing, PINNED_KERNEL_ENV } from '../src/blender/blender.js';
import { renderScene } from '../src/blender/render.js';
import { renderJob } from '../src/blender/worker.js';
import { LocalApiClient } from '../src/daemon/local-client.js';
import { startWorkerServer } from '../src/daemon/worker-server.js';
import { buildBlenderAddon } from '../scripts/build-blender-addon.js';
import { ARTICLE, blenderWithAddon, compareImages, makeScene, startRealMarket } from '../test/blender/support.js';
import { benchOptions, printFigures, round } from './support.js';

const options = benchOptions();
const missing = blenderMissing();
if (missing !== undefined) {
  console.log(`blender: skipped: ${missing}`);
  printFigures('blender', { skipped: missing });
  process.exit(0);
}
const WIDTH = options.quick ? 320 : 640;
const HEIGHT = options.quick ? 180 : 360;
const SAMPLES = options.quick ? 16 : 64;

const dir = mkdtempSync(join(tmpdir(), 'bitwrk-bench-blender-'));
const scene = await makeScene(join(dir, 'scene'), { width: WIDTH, height: HEIGHT, samples: SAMPLES });
const seconds = (startMs: number): number => (performance.now() - startMs) / 1000;

// Direct: one process, one thread, frame 1; `copies` renders at once give the time of each at that load.
const renderDirect = async (copies: number): Promise<number> => {
  const start = performance.now();
  const times = await Promise.all(
    Array.from({ length: copies }, async (_, copy) => {
      await promisify(execFile)('blender', ['-b', '--factory-startup', '-noaudio', '-Y', scene, '-t', '1', '-o', join(dir, `direct${copy}-#`), '-f', '1'], { env: { ...process.env, ...PINNED_KERNEL_ENV } }); // the sellers' kernel
      return seconds(start);
    }),
  );
  return times.reduce((sum, value) => sum + value, 0) / copies;
};
const directBefore = await renderDirect(1);
const directPairSeconds = await renderDirect(2);

// Through the market: each tile's Blender time is measured where it runs (the worker's job handler).
const market = await startRealMarket(join(dir, 'market'));
const tileSeconds: number[] = [];
const worker = await startWorkerServer({
  daemonUrl: market.seller.apiUrl,
  token: market.seller.apiToken,
  id: 'bench-blender',
  article: ARTICLE,
  slots: 2,
  compute: async (work, job) => {
    const start = performance.now();
    try {
      return await renderJob(work, job.article, { blender: 'blender', device: 'CPU', threads: 1, timeoutMs: 600_000, fileBytes: 2 ** 31 }, job.signal);
    } finally {
      tileSeconds.push(seconds(start));
    }
  },
});
await market.seller.mandates.add({ side: 'sell', article: ARTICLE, priceSats: 100 });
const phases: Record<string, number> = {};
const phaseStart = performance.now();
const marketStart = performance.now();
const summary = await renderScene({
  scene,
  frames: [1, 2],
  outputDir: join(dir, 'out'),
  article: ARTICLE,
  maxPriceSats: 200,
  concurrency: 2,
  retries: 0,
  blender: 'blender',
  api: new LocalApiClient(market.buyer.apiUrl, market.buyer.apiToken),
  minTiles: 4,
  autoexec: false,
  signal: new AbortController().signal,
  report: (event) => {
    if (event.type === 'packed') {
      phases['pack'] = seconds(phaseStart);
    }
    if (event.type === 'frame') {
      phases[`frame ${event.frame}`] = seconds(marketStart);
      phases[`stitch ${event.frame}`] = (event.stitchMs ?? 0) / 1000;
    }
  },
});
// The same frame through the add-on (the seller holds the scene's chunks already, as for a re-render).
const addonFirstTile = tileSeconds.length;
const addonStart = performance.now();
const addonRun = await blenderWithAddon(scene, { zip: buildBlenderAddon(join(dir, 'dist')), settings: { daemon_url: market.buyer.apiUrl, api_token: market.buyer.apiToken, max_price_sats: 200, concurrency: 4, retries: 0 }, output: join(dir, 'addon-frame') }, join(dir, 'profile'));
const addonSeconds = seconds(addonStart);
if (addonRun.code !== 0 || !/BitWrk: render complete/.test(addonRun.output)) throw new Error(`the render through the add-on failed: ${addonRun.output.slice(-2000)}`);
await worker.stop();
await market.stop();
const directSeconds = (directBefore + (await renderDirect(1))) / 2;
const [frame1, frame2] = summary.frames;
if (!frame1?.ok || !frame2?.ok) throw new Error(`the render through the market failed: ${JSON.stringify(summary.frames)}`);
const exact = await compareImages(join(dir, 'direct0-1.exr'), join(dir, 'out', '0001.exr'), dir);
const tiles = summary.plan.tiles.length;
const frame1Tiles = tileSeconds.slice(0, tiles);
const renderedPixels = summary.plan.tiles.reduce((sum, tile) => sum + tile.rendered.width * tile.rendered.height, 0);
const tileBlenderSeconds = frame1Tiles.reduce((sum, value) => sum + value, 0);
const overheadPerTile = (reference: number): number => (tileBlenderSeconds - reference * (renderedPixels / (WIDTH * HEIGHT))) / tiles;
// Machine time of frame 1: packing, its tiles' Blender runs and its stitching.
const machineSeconds = (phases['pack'] ?? 0) + tileBlenderSeconds + phases['stitch 1']!;
const addonExact = await compareImages(join(dir, 'direct0-1.exr'), join(dir, 'addon-frame.exr'), dir);
const addonTileSeconds = tileSeconds.slice(addonFirstTile).reduce((sum, value) => sum + value, 0);
const addonTiles = tileSeconds.length - addonFirstTile;
rmSync(dir, { recursive: true, force: true });

printFigures('blender', {
  scene: `${WIDTH}x${HEIGHT}, ${SAMPLES} samples`,
  tiles: `${tiles} (${summary.plan.columns}x${summary.plan.rows})`,
  directSeconds: round(directSeconds, 2),
  directTwoAtOnceSeconds: round(directPairSeconds, 2),
  marketFrame1Seconds: round(phases['frame 1']!, 2),
  packSeconds: round(phases['pack'] ?? 0, 2),
  tileBlenderSeconds: round(tileBlenderSeconds, 2),
  stitchSeconds: round(phases['stitch 1']!, 2),
  overheadPerTileSeconds: round(overheadPerTile(directSeconds), 2),
  machineTimeRatio: round(machineSeconds / directSeconds, 2),
  overheadPerTileSameLoadSeconds: round(overheadPerTile(directPairSeconds), 2),
  machineTimeRatioSameLoad: round(machineSeconds / directPairSeconds, 2),
  frame1BytesSent: frame1.bytesSent,
  frame2BytesSent: frame2.bytesSent,
  jobBytes: round(frame1.jobBytes / frame1.purchases),
  pixelExact: exact.maxDifference === 0,
  addonSeconds: round(addonSeconds, 2),
  addonTiles,
  addonOverheadPerTileSeconds: round((addonTileSeconds - directSeconds * (renderedPixels / (WIDTH * HEIGHT))) / addonTiles, 2),
  addonWallRatio: round(addonSeconds / directSeconds, 2),
  addonPixelExact: addonExact.maxDifference === 0,
});
