// Content-defined chunking, FastCDC style: a gear hash rolls over the data and a chunk ends where
// the hash's top bits are all zero. Cut points depend only on the bytes near them, so an edit
// changes only the chunks around it. Normalised chunking (a stricter mask before the average
// size, a looser one after) keeps sizes close to the average; no cut is tested before `min`
// bytes (FastCDC's skip), and a chunk never exceeds `max`.
//
// The gear table is GEAR[i] = the first 4 bytes (big-endian) of SHA-256("bitwrk-cafs-gear" || i),
// so any implementation can rebuild it. The hash is 32-bit: h = (h << 1) + GEAR[byte], and the
// masks use its top bits, which depend on the last 32 bytes.
import { createHash } from 'node:crypto';
import { assert } from '../assert.js';
import { WasmGearCutter } from './gear-wasm.js';
import { CHUNK_BYTES_AVERAGE, CHUNK_BYTES_MAX, CHUNK_BYTES_MIN } from './limits.js';

export interface ChunkerOptions {
  readonly minBytes?: number;
  readonly averageBytes?: number;
  readonly maxBytes?: number;
}

// Int32Array, not Uint32Array: values above 2^31 would leave V8's fast integer path.
export const GEAR = new Int32Array(256);
for (let index = 0; index < 256; index++) {
  GEAR[index] = createHash('sha256').update('bitwrk-cafs-gear').update(Uint8Array.of(index)).digest().readInt32BE(0);
}

/** A mask of the top `bits` bits of a 32-bit word. */
function topBits(bits: number): number {
  return (0xffffffff << (32 - bits)) >>> 0;
}

export interface ChunkBoundaries {
  readonly minBytes: number;
  readonly averageBytes: number;
  readonly maxBytes: number;
  readonly maskStrict: number;
  readonly maskLoose: number;
}

export function chunkBoundaries(options: ChunkerOptions = {}): ChunkBoundaries {
  const minBytes = options.minBytes ?? CHUNK_BYTES_MIN;
  const averageBytes = options.averageBytes ?? CHUNK_BYTES_AVERAGE;
  const maxBytes = options.maxBytes ?? CHUNK_BYTES_MAX;
  assert(Number.isSafeInteger(minBytes) && minBytes >= 64, 'chunk minimum must be at least 64 bytes');
  assert(minBytes < averageBytes && averageBytes < maxBytes, 'chunk sizes must be ordered min < average < max');
  assert(maxBytes <= CHUNK_BYTES_MAX, `chunk maximum may not exceed ${CHUNK_BYTES_MAX}`);
  const bits = Math.round(Math.log2(averageBytes));
  return { minBytes, averageBytes, maxBytes, maskStrict: topBits(bits + 2), maskLoose: topBits(bits - 2) };
}

/** Length of the first chunk of `data[start, end)`; `end - start` when no cut is found (and < max). */
export function findCut(data: Uint8Array, start: number, end: number, boundaries: ChunkBoundaries): number {
  const length = end - start;
  if (length <= boundaries.minBytes) return length;
  const limit = Math.min(length, boundaries.maxBytes);
  const normal = Math.min(limit, boundaries.averageBytes);
  const maskStrict = boundaries.maskStrict | 0;
  const maskLoose = boundaries.maskLoose | 0;
  let hash = 0;
  let position = start + boundaries.minBytes;
  const normalEnd = start + normal;
  const limitEnd = start + limit;
  for (; position < normalEnd; position++) {
    hash = ((hash << 1) + GEAR[data[position]!]!) | 0;
    if ((hash & maskStrict) === 0) return position + 1 - start;
  }
  for (; position < limitEnd; position++) {
    hash = ((hash << 1) + GEAR[data[position]!]!) | 0;
    if ((hash & maskLoose) === 0) return position + 1 - start;
  }
  return limit;
}

/** Input is copied into the chunker's wasm window in pieces of at most this many bytes. */
const PIECE_BYTES = 1024 * 1024;

/** Consecutive chunks in one buffer: chunk i is the `sizes[i]` bytes after chunks 0..i-1. */
export interface ChunkBlock {
  readonly bytes: Uint8Array;
  readonly sizes: readonly number[];
}

/** The chunks of a block as views into it. */
export function splitBlock(block: ChunkBlock): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const size of block.sizes) {
    chunks.push(block.bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/**
 * A streaming chunker: push data in pieces of any size, get whole chunks back (in fresh buffers:
 * the input may be reused); `end()` returns the last, possibly short, chunk. Holds at most `max`
 * bytes of pending data. Cuts with the wasm loop (gear-wasm.ts), which finds the cuts `findCut` finds.
 */
export class Chunker {
  private readonly boundaries: ChunkBoundaries;
  private readonly cutter: WasmGearCutter;
  /** Pending data lies at cutter.window[0, pendingBytes). */
  private pendingBytes = 0;

  constructor(options: ChunkerOptions = {}) {
    this.boundaries = chunkBoundaries(options);
    this.cutter = new WasmGearCutter(GEAR, this.boundaries.maxBytes + PIECE_BYTES);
  }

  push(data: Uint8Array): Uint8Array[] {
    return this.pushBlocks(data).flatMap(splitBlock);
  }

  end(): Uint8Array[] {
    return splitBlock(this.endBlock());
  }

  /** Like `push`, with the chunks packed in blocks (one copy per megabyte of input, not per chunk). */
  pushBlocks(data: Uint8Array): ChunkBlock[] {
    const blocks: ChunkBlock[] = [];
    for (let offset = 0; offset < data.length; offset += PIECE_BYTES) {
      const piece = data.subarray(offset, offset + PIECE_BYTES);
      this.cutter.window.set(piece, this.pendingBytes);
      this.pendingBytes += piece.length;
      // Only cut where a full `max` window is available: a cut found with less data could move
      // once more data arrives.
      const block = this.cutWhileAtLeast(this.boundaries.maxBytes);
      if (block.sizes.length > 0) blocks.push(block);
    }
    return blocks;
  }

  /** The remaining data as chunks (the last one may be shorter than `min`). */
  endBlock(): ChunkBlock {
    return this.cutWhileAtLeast(1);
  }

  /** Cuts chunks off the pending data while at least `bytes` remain; the rest moves to the start. */
  private cutWhileAtLeast(bytes: number): ChunkBlock {
    const window = this.cutter.window;
    const sizes: number[] = [];
    let start = 0;
    while (this.pendingBytes - start >= bytes) {
      const length = this.cutLength(start, this.pendingBytes);
      sizes.push(length);
      start += length;
    }
    const block = { bytes: window.slice(0, start), sizes };
    window.copyWithin(0, start, this.pendingBytes);
    this.pendingBytes -= start;
    return block;
  }

  /** `findCut` over the window, with the loop in wasm. */
  private cutLength(start: number, end: number): number {
    const { minBytes, averageBytes, maxBytes, maskStrict, maskLoose } = this.boundaries;
    const length = end - start;
    if (length <= minBytes) return length;
    const limit = Math.min(length, maxBytes);
    const normal = Math.min(limit, averageBytes);
    return this.cutter.cut(start + minBytes, start + normal, start + limit, maskStrict, maskLoose) - start;
  }
}

/** Chunks a whole buffer (convenience for tests and small data). */
export function chunkAll(data: Uint8Array, options: ChunkerOptions = {}): Uint8Array[] {
  const chunker = new Chunker(options);
  return [...chunker.push(data), ...chunker.end()];
}
