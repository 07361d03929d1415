// CAFS limits. A chunk must fit in one transport frame with room for the envelope.
import { assert } from '../assert.js';
import { FRAME_BYTES_MAX } from '../limits.js';

export const CHUNK_BYTES_MIN = 2 * 1024;
export const CHUNK_BYTES_AVERAGE = 8 * 1024;
export const CHUNK_BYTES_MAX = 64 * 1024;
/** Chunk-list entries in one offer page (36 bytes each: key + size). */
export const OFFER_PAGE_CHUNKS_MAX = 16_384;
/** Chunks one transfer may have (a 8 GiB file at the average chunk size). */
export const TRANSFER_CHUNKS_MAX = 1_048_576;
/** Chunk requests a sender keeps in flight (flow control). */
export const CHUNKS_IN_FLIGHT_MAX = 16;
/** Transfers a receiver tracks at once. */
export const TRANSFERS_MAX = 64;

assert(CHUNK_BYTES_MAX + 1024 < FRAME_BYTES_MAX, 'a chunk and its envelope must fit in a frame');
assert(OFFER_PAGE_CHUNKS_MAX * 40 + 1024 < FRAME_BYTES_MAX, 'an offer page must fit in a frame');
