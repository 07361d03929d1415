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
import { CHUNK_BYTES_AVERAGE, CHUNK_BYTES_MAX, CHUNK_BYTES_MIN } from './limits.js';

export interface ChunkerOptions {
  readonly minBytes?: number;
  readonly averageBytes?: number;
  readonly maxBytes?: number;
}

// Int32Array, not Uint32Array: values above 2^31 would leave V8's fast integer path.
const GEAR = new Int32Array(256);
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

/**
 * A streaming chunker: push data in pieces of any size, get whole chunks back; `end()` returns
 * the last, possibly short, chunk. Holds at most `max` bytes of pending data.
 */
export class Chunker {
  private readonly boundaries: ChunkBoundaries;
  private pending: Uint8Array = new Uint8Array(0);

  constructor(options: ChunkerOptions = {}) {
    this.boundaries = chunkBoundaries(options);
  }

  push(data: Uint8Array): Uint8Array[] {
    const input = this.pending.length === 0 ? data : concat(this.pending, data);
    const chunks: Uint8Array[] = [];
    let offset = 0;
    // Only cut where a full `max` window is available: a cut found with less data could move
    // once more data arrives.
    while (input.length - offset >= this.boundaries.maxBytes) {
      const cut = findCut(input, offset, input.length, this.boundaries);
      chunks.push(input.subarray(offset, offset + cut));
      offset += cut;
    }
    this.pending = input.slice(offset);
    return chunks;
  }

  /** The remaining data as chunks (the last one may be shorter than `min`). */
  end(): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    let offset = 0;
    const input = this.pending;
    while (offset < input.length) {
      const cut = findCut(input, offset, input.length, this.boundaries);
      chunks.push(input.subarray(offset, offset + cut));
      offset += cut;
    }
    this.pending = new Uint8Array(0);
    return chunks;
  }
}

/** Chunks a whole buffer (convenience for tests and small data). */
export function chunkAll(data: Uint8Array, options: ChunkerOptions = {}): Uint8Array[] {
  const chunker = new Chunker(options);
  return [...chunker.push(data), ...chunker.end()];
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}
