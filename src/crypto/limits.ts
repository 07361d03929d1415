// Limits of the identity layer (src/crypto). Transport-wide ones, such as NONCE_TTL_MS and
// NONCE_BYTES, are in src/limits.ts.
import { assert } from '../assert.js';

/** A Bitcoin signed-message signature: header byte, r and s. */
export const SIGNATURE_BYTES = 65;
/** Most items a worker of the verifier pool gets in one message (larger batches are split). */
export const VERIFY_WORKER_BATCH_ITEMS_MAX = 512;
/** Most batches waiting for a worker; beyond it verifyBatch rejects (back-pressure). */
export const VERIFY_QUEUED_BATCHES_MAX = 4096;
/** Most decoded addresses the pool keeps (base58check is the costliest part of packing). */
export const ADDRESS_CACHE_ENTRIES_MAX = 65_536;

assert(VERIFY_WORKER_BATCH_ITEMS_MAX >= 1, 'a worker batch holds at least one item');
assert(VERIFY_QUEUED_BATCHES_MAX >= 1, 'the pool queues at least one batch');
assert(ADDRESS_CACHE_ENTRIES_MAX >= VERIFY_WORKER_BATCH_ITEMS_MAX, 'the address cache holds at least one batch');
