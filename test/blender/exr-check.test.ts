// Goal: the buyer's daemon refuses, before it signs a receipt, a Blender tile that is not a float
// EXR of the rendered rectangle, and never fails on hostile bytes. Method: a real EXR rendered by
// Blender (skipped, saying why, without it), the wrong sizes and garbage refused with a reason, and
// fast-check truncations and byte changes that must give a reason or pass, never throw.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { checkBlenderTile } from '../../src/blender/exr-check.js';
import { encodeJobHeader } from '../../src/blender/job.js';
import { directRender, makeScene, NO_BLENDER } from './support.js';

/** A job for a tile of `width` x `height` (its .blend one byte: only the header matters here). */
const job = (width: number, height: number) => Buffer.concat([encodeJobHeader({ frame: 1, width, height, rendered: { x: 0, y: 0, width, height }, resources: [], blendSize: 1 }), Buffer.of(0)]);

describe('the structural check of a Blender tile', { skip: NO_BLENDER === undefined ? false : `Blender cannot run here: ${NO_BLENDER}` }, () => {
  let exr: Buffer;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitwrk-exr-check-'));
    exr = readFileSync(await directRender(await makeScene(join(dir, 'scene'), { width: 64, height: 36 }), dir, 1));
  });

  test('a float EXR of the tile\'s size passes; another size, a PNG or garbage is refused with the reason', () => {
    assert.equal(checkBlenderTile(job(64, 36), exr), null);
    assert.equal(checkBlenderTile(job(32, 36), exr), 'the image is 64 x 36 pixels, the tile 32 x 36');
    assert.match(checkBlenderTile(job(64, 36), new TextEncoder().encode('not an image'))!, /not a float EXR image: it is not an OpenEXR file/);
    assert.match(checkBlenderTile(job(64, 36), Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'))!, /not an OpenEXR file/);
    assert.match(checkBlenderTile(new Uint8Array(10), exr)!, /the work is not a Blender job/);
  });

  test('property: a cut-off EXR is refused; changed bytes give a reason or pass, and never throw', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: exr.length - 1 }), (length) => {
      assert.notEqual(checkBlenderTile(job(64, 36), exr.subarray(0, length)), null, `cut at ${length}`);
    }), { numRuns: 300 });
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: Math.min(exr.length, 2048) - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (changes) => {
      const changed = Buffer.from(exr);
      for (const [at, value] of changes) changed[at] = value;
      const verdict = checkBlenderTile(job(64, 36), changed);
      assert.ok(verdict === null || typeof verdict === 'string');
    }), { numRuns: 500 });
  });
});
