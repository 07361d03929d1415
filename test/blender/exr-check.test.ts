// Goal: the buyer's daemon refuses, before it signs a receipt, a Blender tile that is not a float
// EXR of the rendered rectangle, and never fails on hostile bytes. Method: a real EXR rendered by
// Blender (skipped, saying why, without it), the wrong sizes and garbage refused with a reason, and
// fast-check truncations and byte changes that must give a reason or pass, never throw. The
// worker's normalisation keeps the pixels and drops what would identify the seller's machine.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { checkBlenderTile, decodeExr, normalizeExr } from '../../src/blender/exr-check.js';
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

  test('normalised: only the attributes OpenEXR requires are left (no date, times or file path of the machine), the pixels unchanged', () => {
    const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
    assert.match(text(exr), /Date/, 'Blender wrote its metadata');
    assert.match(text(exr), /scene\.blend/, "and the scene file's path on this machine");
    const normal = normalizeExr(exr);
    assert.doesNotMatch(text(normal), /Date|RenderTime|render_time|scene\.blend|cycles\./);
    assert.ok(normal.length < exr.length);
    assert.deepEqual(decodeExr(normal), decodeExr(exr), 'every pixel the same');
    assert.equal(checkBlenderTile(job(64, 36), normal), null, 'still a well-formed tile');
    assert.deepEqual(normalizeExr(normal), normal, 'normalising twice changes nothing');
    assert.throws(() => normalizeExr(new TextEncoder().encode('not an image')), /not an EXR image the worker can normalise/);
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

/**
 * A scanline EXR of float B, G, R channels as OpenEXR lays it out: `compression` 0 (none) or 3 (ZIP:
 * 16 lines per chunk, two interleaved halves, a delta predictor, zlib), `rgb(x, y)` per pixel.
 */
function exrOf(width: number, height: number, rgb: (x: number, y: number) => [number, number, number], compression: 0 | 3 | 4): Buffer {
  const attribute = (name: string, type: string, value: Buffer): Buffer => {
    const size = Buffer.alloc(4);
    size.writeInt32LE(value.length);
    return Buffer.concat([Buffer.from(`${name}\0${type}\0`, 'latin1'), size, value]);
  };
  const channel = (name: string): Buffer => {
    const fields = Buffer.alloc(16);
    fields.writeInt32LE(2, 0); // FLOAT
    fields.writeInt32LE(1, 8);
    fields.writeInt32LE(1, 12);
    return Buffer.concat([Buffer.from(`${name}\0`, 'latin1'), fields]);
  };
  const window = Buffer.alloc(16);
  window.writeInt32LE(width - 1, 8);
  window.writeInt32LE(height - 1, 12);
  const magic = Buffer.alloc(8);
  magic.writeInt32LE(20000630, 0);
  magic.writeUInt32LE(2, 4);
  const header = Buffer.concat([
    magic,
    attribute('channels', 'chlist', Buffer.concat([channel('B'), channel('G'), channel('R'), Buffer.of(0)])),
    attribute('compression', 'compression', Buffer.of(compression)),
    attribute('dataWindow', 'box2i', window),
    Buffer.of(0),
  ]);
  const linesPerChunk = compression === 0 ? 1 : compression === 3 ? 16 : 32;
  const chunks: Buffer[] = [];
  for (let y0 = 0; y0 < height; y0 += linesPerChunk) {
    const raw: number[] = [];
    for (let y = y0; y < Math.min(height, y0 + linesPerChunk); y++) for (const c of [2, 1, 0]) for (let x = 0; x < width; x++) raw.push(rgb(x, y)[c]!);
    let data = Buffer.alloc(raw.length * 4);
    raw.forEach((value, i) => data.writeFloatLE(value, i * 4));
    if (compression !== 0) {
      const half = (data.length + 1) >> 1;
      const packed = Buffer.alloc(data.length);
      for (let i = 0; i < data.length; i++) packed[(i & 1) === 0 ? i >> 1 : half + (i >> 1)] = data[i]!;
      const deltas = Buffer.from(packed);
      for (let i = 1; i < packed.length; i++) deltas[i] = (packed[i]! - packed[i - 1]! + 128 + 256) & 0xff;
      data = deflateSync(deltas);
    }
    const prefix = Buffer.alloc(8);
    prefix.writeInt32LE(y0, 0);
    prefix.writeInt32LE(data.length, 4);
    chunks.push(Buffer.concat([prefix, data]));
  }
  const table = Buffer.alloc(chunks.length * 8);
  let offset = header.length + table.length;
  chunks.forEach((chunk, i) => {
    table.writeBigUInt64LE(BigInt(offset), i * 8);
    offset += chunk.length;
  });
  return Buffer.concat([header, table, ...chunks]);
}

test('the pixels are decoded (ZIP or none): a NaN or infinite value is refused with where it is; another compression is refused', () => {
  const smooth = (x: number, y: number): [number, number, number] => [x / 40, y / 20, 0.5];
  for (const compression of [0, 3] as const) {
    assert.equal(checkBlenderTile(job(40, 20), exrOf(40, 20, smooth, compression)), null, `finite pixels pass (compression ${compression})`);
    const nan = exrOf(40, 20, (x, y) => (x === 7 && y === 17 ? [0.1, Number.NaN, 0.2] : smooth(x, y)), compression);
    assert.match(checkBlenderTile(job(40, 20), nan)!, /channel G has a NaN or infinite value at x 7, y 17/);
    const inf = exrOf(40, 20, (x, y) => (x === 0 && y === 0 ? [Number.POSITIVE_INFINITY, 0, 0] : smooth(x, y)), compression);
    assert.match(checkBlenderTile(job(40, 20), inf)!, /channel R has a NaN or infinite value at x 0, y 0/);
  }
  assert.equal(checkBlenderTile(job(40, 20), exrOf(40, 20, smooth, 4)), 'compression 4 is not what the worker writes (ZIP or none)');
  const zip = exrOf(40, 20, smooth, 3);
  zip[zip.length - 3] = zip[zip.length - 3]! ^ 0xff; // a changed byte in the compressed pixels
  assert.match(checkBlenderTile(job(40, 20), zip) ?? 'passed', /chunk 1: |passed/, 'refused with its chunk, or (rarely) still finite');
});
