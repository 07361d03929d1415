// Goal: a seller renders strangers' scenes without running their code, refuses jobs above its
// cost class or that would run scripts, and the buyer's packing names what it could not pack;
// two sellers' tiles of the same work are equal byte for byte and carry nothing of their machines.
// Method: real Blender through the worker's job handler (renderJob, what `bitwrk worker blender`
// runs for each push). The hostile scene has a registered text block and a Python driver that
// each write a marker file when run; a control run with autoexec on shows the markers do appear
// when scripts run, so their absence means something.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runBlender, scriptPath } from '../../src/blender/blender.js';
import { encodeJobHeader, type JobHeader } from '../../src/blender/job.js';
import { packScene, readPayload } from '../../src/blender/pack.js';
import { JobRefusedError, renderJob, type BlenderWorkerOptions } from '../../src/blender/worker.js';
import { ARTICLE, makeScene, NO_BLENDER } from './support.js';

const WORKER: BlenderWorkerOptions = { blender: 'blender', device: 'CPU', threads: 1, timeoutMs: 120_000, fileBytes: 2 ** 30 };

/** A job of a scene file as a hostile buyer would send it: unpacked, the scene's own bytes. */
function rawJob(blendPath: string, rendered: JobHeader['rendered'], size = { width: 64, height: 36 }): Uint8Array {
  const blend = readFileSync(blendPath);
  return Buffer.concat([encodeJobHeader({ frame: 1, ...size, rendered, resources: [], blendSize: blend.length }), blend]);
}

describe('the Blender worker with strangers\' scenes', { skip: NO_BLENDER === undefined ? false : `Blender cannot run here: ${NO_BLENDER}` }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bitwrk-blender-worker-'));
  });

  test('a text block that would run on load does not run; with autoexec on it would', async () => {
    const marker = join(dir, 'text-marker');
    const scene = await makeScene(join(dir, 'text-scene'), { width: 64, height: 36, hostile: true, marker });
    // The driver is the second test's; here only the text block: freeze the driver first by packing.
    const packed = await packScene('blender', scene, { autoexec: false });
    const payload = await readPayload(packed);
    const job = Buffer.concat([encodeJobHeader({ frame: 1, width: 64, height: 36, rendered: { x: 0, y: 0, width: 64, height: 36 }, resources: packed.facts.resources.map(({ name, size }) => ({ name, size })), blendSize: packed.blendSize }), ...payload]);
    const tile = await renderJob(job, ARTICLE, WORKER, new AbortController().signal);
    assert.ok(tile.length > 0);
    assert.equal(existsSync(`${marker}.text`), false, 'the text block ran on the seller');
    assert.equal(existsSync(`${marker}.driver`), false, 'the driver ran on the seller');
    // Control: the same scene opened with autoexec on runs the text block.
    await runBlender({ blender: 'blender', file: scene, script: scriptPath('probe.py'), scriptArgs: [join(dir, 'probe.json')], autoexec: true, timeoutMs: 60_000 });
    assert.equal(existsSync(`${marker}.text`), true, 'control: with autoexec on the marker is written (so the check above can fail)');
  });

  test('two sellers render the same tile byte for byte (another folder, another thread count, a processor without AVX2), so result hashes compare; nothing of the machine is in it', async () => {
    const scene = await makeScene(join(dir, 'replicable'), { width: 96, height: 54, samples: 16 });
    const packed = await packScene('blender', scene, { autoexec: false });
    const payload = await readPayload(packed);
    const job = Buffer.concat([encodeJobHeader({ frame: 1, width: 96, height: 54, rendered: { x: 16, y: 8, width: 48, height: 30 }, resources: packed.facts.resources.map(({ name, size }) => ({ name, size })), blendSize: packed.blendSize }), ...payload]);
    const hash = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
    const first = await renderJob(job, ARTICLE, { ...WORKER, tmpRoot: mkdtempSync(join(dir, 'seller-a-')) }, new AbortController().signal);
    const second = await renderJob(job, ARTICLE, { ...WORKER, threads: 2, tmpRoot: mkdtempSync(join(dir, 'seller-b-')) }, new AbortController().signal);
    // A processor without AVX2 (Cycles would pick its SSE4.1 kernel): the pinned kernel is the same there.
    process.env['CYCLES_CPU_NO_AVX2'] = '1';
    const third = await renderJob(job, ARTICLE, { ...WORKER, tmpRoot: mkdtempSync(join(dir, 'seller-c-')) }, new AbortController().signal).finally(() => delete process.env['CYCLES_CPU_NO_AVX2']);
    assert.equal(hash(second), hash(first));
    assert.equal(hash(third), hash(first));
    assert.doesNotMatch(Buffer.from(first).toString('latin1'), /seller-a|bitwrk-job|Date|RenderTime|render_time/, "no path, date or time of the seller's machine");
    // Control: fewer samples (a cheaper render) is another result.
    const cheaper = await makeScene(join(dir, 'replicable-cheaper'), { width: 96, height: 54, samples: 15 });
    const packedCheaper = await packScene('blender', cheaper, { autoexec: false });
    const cheaperJob = Buffer.concat([encodeJobHeader({ frame: 1, width: 96, height: 54, rendered: { x: 16, y: 8, width: 48, height: 30 }, resources: packedCheaper.facts.resources.map(({ name, size }) => ({ name, size })), blendSize: packedCheaper.blendSize }), ...(await readPayload(packedCheaper))]);
    assert.notEqual(hash(await renderJob(cheaperJob, ARTICLE, WORKER, new AbortController().signal)), hash(first));
  });

  test('a Python driver expression is refused and does not run', async () => {
    const marker = join(dir, 'driver-marker');
    const scene = await makeScene(join(dir, 'driver-scene'), { width: 64, height: 36, hostile: true, marker });
    await assert.rejects(renderJob(rawJob(scene, { x: 0, y: 0, width: 64, height: 36 }), ARTICLE, WORKER, new AbortController().signal), (error: unknown) => error instanceof JobRefusedError && /Python driver/.test((error as Error).message));
    assert.equal(existsSync(`${marker}.driver`), false, 'the driver ran');
    assert.equal(existsSync(`${marker}.text`), false, 'the text block ran');
  });

  test('Freestyle in script mode is refused', async () => {
    const scene = await makeScene(join(dir, 'freestyle-scene'), { width: 64, height: 36, freestyle_script: true });
    await assert.rejects(renderJob(rawJob(scene, { x: 0, y: 0, width: 64, height: 36 }), ARTICLE, WORKER, new AbortController().signal), /Freestyle in Python script mode/);
  });

  test('a tile above the article\'s cost class is refused before rendering, with the figures', async () => {
    const scene = await makeScene(join(dir, 'costly-scene'), { width: 64, height: 36, samples: 100_000 });
    // 64 x 36 pixels x 100,000 samples x 4 bounces = 921.6 M rays > 512 Mi.
    await assert.rejects(renderJob(rawJob(scene, { x: 0, y: 0, width: 64, height: 36 }), ARTICLE, WORKER, new AbortController().signal), /costs 921600000 rays .* more than the 536870912 of the article/);
  });

  test('a rectangle the scene does not have, and a scene of another size, are refused', async () => {
    const scene = await makeScene(join(dir, 'small-scene'), { width: 64, height: 36 });
    await assert.rejects(renderJob(rawJob(scene, { x: 0, y: 0, width: 64, height: 36 }, { width: 128, height: 36 }), ARTICLE, WORKER, new AbortController().signal), /the scene is 64 x 36 pixels, the job says 128 x 36/);
    await assert.rejects(renderJob(rawJob(scene, { x: 0, y: 0, width: 64, height: 36 }), 'net.bitwrk/test/hash/0', WORKER, new AbortController().signal), /not a Blender article/);
  });

  test('a texture that does not exist is named in a warning, and the render goes on', async () => {
    const missing = join(dir, 'nowhere', 'gone.png');
    const scene = await makeScene(join(dir, 'missing-scene'), { width: 64, height: 36, texture: missing });
    const packed = await packScene('blender', scene, { autoexec: false });
    assert.ok(packed.facts.warnings.some((warning) => warning.includes(missing) && /not found/.test(warning)), `warnings: ${packed.facts.warnings.join('; ')}`);
    const payload = await readPayload(packed);
    const job = Buffer.concat([encodeJobHeader({ frame: 1, width: 64, height: 36, rendered: { x: 0, y: 0, width: 32, height: 36 }, resources: [], blendSize: packed.blendSize }), ...payload]);
    assert.ok((await renderJob(job, ARTICLE, WORKER, new AbortController().signal)).length > 0);
  });
});
