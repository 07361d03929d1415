// Goal: the add-on works in Blender's interface as a user meets it: the BitWrk panel in the
// Render properties, Render pressed as F12 does (a render window; Blender renders in its own
// thread), the image filling in tile by tile, and the finished frame equal to a direct render.
// The screenshots it takes are docs/blender.md's walkthrough (`BITWRK_UPDATE_SHOTS=1` copies them
// to docs/images/). Method: Blender with its interface under Xvfb (skipped, saying why, without
// xvfb-run or Blender), a real exchange and two daemons, `bitwrk worker blender` in another HOME.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildBlenderAddon } from '../../scripts/build-blender-addon.js';
import type { WorkerProcess } from '../support/worker-process.js';
import { ARTICLE, compareImages, directRender, makeScene, NO_BLENDER, startBlenderWorker, startRealMarket, type RealMarket } from './support.js';

const BIN = fileURLToPath(new URL('../../bin/bitwrk.js', import.meta.url));
const DRIVER = fileURLToPath(new URL('../../blender/tests/ui_walkthrough.py', import.meta.url));
const DOC_IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));
const NO_XVFB = spawnSync('xvfb-run', ['--help']).error === undefined ? undefined : 'xvfb-run is not installed (apt-get install -y xvfb xauth)';
const SKIP = NO_BLENDER ?? NO_XVFB;

describe('the add-on in Blender\'s interface', { skip: SKIP === undefined ? false : `cannot run here: ${SKIP}` }, () => {
  let dir: string;
  let market: RealMarket;
  let worker: WorkerProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bitwrk-addon-ui-test-'));
    market = await startRealMarket(dir);
    const sellerHome = join(dir, 'seller-home');
    worker = await startBlenderWorker(market.seller, sellerHome, 2, 1);
    await market.seller.mandates.add({ side: 'sell', article: ARTICLE, priceSats: 100 });
  });
  after(async () => {
    await worker?.stop();
    await market?.stop();
  });

  test('F12 in a window: the panel, tiles filling in the render window, the frame equal to a direct render', async (t) => {
    const scene = await makeScene(join(dir, 'scene'), { width: 480, height: 270, samples: 32 });
    const profile = join(dir, 'profile');
    const shots = join(dir, 'shots');
    const result = join(dir, 'ui-frame.exr');
    const config = join(dir, 'ui.json');
    writeFileSync(config, JSON.stringify({ zip: buildBlenderAddon(join(dir, 'dist')), settings: { daemon_url: market.buyer.apiUrl, api_token: market.buyer.apiToken, max_price_sats: 200, concurrency: 4 }, shots, result, width: 960 }));
    const env = { ...process.env, BLENDER_USER_CONFIG: join(profile, 'config'), BLENDER_USER_SCRIPTS: join(profile, 'scripts'), BITWRK_COMMAND: `${process.execPath} ${BIN}` };
    const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const child = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x800x24', 'blender', '--factory-startup', '-noaudio', scene, '--python', DRIVER, '--', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (data: Buffer) => (text += data.toString()));
      child.stderr.on('data', (data: Buffer) => (text += data.toString()));
      child.on('close', (code) => resolve({ code, text }));
    });
    assert.equal(output.code, 0, output.text.slice(-4000));
    const steps = JSON.parse(readFileSync(join(shots, 'steps.json'), 'utf8')) as { shots: string[]; progress_tiles: [number, number] | null };
    assert.deepEqual(steps.shots, ['addon-panel', 'addon-progress', 'addon-done'], output.text.slice(-3000));
    t.diagnostic(`the progress screenshot shows ${steps.progress_tiles?.[0]} of ${steps.progress_tiles?.[1]} tiles`);
    const comparison = await compareImages(await directRender(scene, join(dir, 'direct'), 1), result, dir);
    assert.deepEqual(comparison.sizes, [[480, 270], [480, 270]]);
    assert.equal(comparison.maxDifference, 0, `${comparison.differing} channel values differ, the largest by ${comparison.maxDifference}`);
    if (process.env['BITWRK_UPDATE_SHOTS'] === '1') {
      mkdirSync(DOC_IMAGES, { recursive: true });
      for (const name of steps.shots) copyFileSync(join(shots, `${name}.png`), join(DOC_IMAGES, `${name}.png`));
    }
    assert.ok(existsSync(join(shots, 'addon-progress.png')));
  });
});
