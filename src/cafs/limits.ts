// CAFS limits. A chunk must fit in one transport frame with room for the envelope.
import { assert } from '../assert.js';
import { FRAME_BYTES_MAX, MESSAGE_ENTRIES_MAX, SEND_QUEUE_BYTES_MAX } from '../limits.js';

export const CHUNK_BYTES_MIN = 2 * 1024;
export const CHUNK_BYTES_AVERAGE = 8 * 1024;
export const CHUNK_BYTES_MAX = 64 * 1024;
/** Chunk-list entries in one offer page (36 bytes each: key + size). */
export const OFFER_PAGE_CHUNKS_MAX = 4096;
/** Chunks one transfer may have (a 8 GiB file at the average chunk size). */
export const TRANSFER_CHUNKS_MAX = 1_048_576;
/** Chunks a sender keeps in flight (flow control). */
export const CHUNKS_IN_FLIGHT_MAX = 64;
/** Chunks and bytes in one `cafs.chunks` message. */
export const CHUNKS_PER_MESSAGE_MAX = 16;
export const BATCH_BYTES_MAX = 512 * 1024;
/** Transfers a receiver tracks at once. */
export const TRANSFERS_MAX = 64;

assert(CHUNK_BYTES_MAX + 1024 < FRAME_BYTES_MAX, 'a chunk and its envelope must fit in a frame');
assert(OFFER_PAGE_CHUNKS_MAX * 40 + 1024 < FRAME_BYTES_MAX, 'an offer page must fit in a frame');
assert(CHUNKS_IN_FLIGHT_MAX * CHUNK_BYTES_MAX * 2 <= SEND_QUEUE_BYTES_MAX, 'a full window must fit twice in a send queue');
assert(BATCH_BYTES_MAX + 16 * 1024 < FRAME_BYTES_MAX, 'a chunk batch must fit in a frame');
assert(OFFER_PAGE_CHUNKS_MAX <= MESSAGE_ENTRIES_MAX, 'an offer page\'s size list must pass the decoder\'s entry limit');
