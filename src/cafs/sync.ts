// The CAFS sync protocol: the sender offers a file's chunk list (in pages), the receiver answers
// each page with a bitmap of the chunks it lacks, the sender sends only those (compressed where
// it pays) with a bounded window in flight, then says done and the receiver checks the whole file
// against its key and records it. A transfer that breaks off resumes by offering again: the
// bitmap then names only what is still missing. See docs/cafs.md.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { pack } from 'msgpackr';
import { z } from 'zod';
import { ProtocolError } from '../transport/errors.js';
import { defineProtocol, fields } from '../transport/protocol.js';
import type { Handlers, RpcPeer } from '../transport/rpc.js';
import { chunkKey, StoreFullError, type ChunkRef, type ChunkStore, type FileManifest } from './chunk-store.js';
import { readFile } from './files.js';
import { BATCH_BYTES_MAX, CHUNK_BYTES_MAX, CHUNKS_IN_FLIGHT_MAX, CHUNKS_PER_MESSAGE_MAX, OFFER_PAGE_CHUNKS_MAX, TRANSFER_CHUNKS_MAX, TRANSFERS_MAX } from './limits.js';
import { createHash } from 'node:crypto';

const transferId = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/);
const hexKey = z.string().regex(/^[0-9a-f]{64}$/);

export const cafsProtocol = defineProtocol({
  name: 'cafs-sync',
  requests: {
    'cafs.offer': {
      request: z.object({
        transferId,
        fileKey: hexKey,
        size: fields.nonNegativeInteger(),
        chunkCount: z.number().int().min(0).max(TRANSFER_CHUNKS_MAX),
        /** Index of this page's first chunk. */
        first: z.number().int().min(0).max(TRANSFER_CHUNKS_MAX),
        /** 32 bytes per chunk: the keys of this page. */
        keys: fields.bytesMax(OFFER_PAGE_CHUNKS_MAX * 32),
        sizes: z.array(z.number().int().min(1).max(CHUNK_BYTES_MAX)).max(OFFER_PAGE_CHUNKS_MAX),
      }),
      /** Bit i (most significant bit first) set: chunk `first + i` is missing, send it. */
      response: z.object({ missing: fields.bytesMax(OFFER_PAGE_CHUNKS_MAX / 8 + 1) }),
    },
    /** Several chunks per message (at most CHUNKS_PER_MESSAGE_MAX, BATCH_BYTES_MAX in all). */
    'cafs.chunks': {
      request: z.object({
        transferId,
        chunks: z
          .array(z.object({ index: z.number().int().min(0).max(TRANSFER_CHUNKS_MAX), compressed: z.boolean(), data: fields.bytesMax(CHUNK_BYTES_MAX + 1024) }))
          .min(1)
          .max(CHUNKS_PER_MESSAGE_MAX)
          .refine((chunks) => chunks.reduce((sum, chunk) => sum + chunk.data.length, 0) <= BATCH_BYTES_MAX, { message: `at most ${BATCH_BYTES_MAX} bytes per message` }),
      }),
      response: z.object({ stored: z.number().int() }),
    },
    'cafs.done': {
      request: z.object({ transferId }),
      response: z.object({ fileKey: hexKey, size: fields.nonNegativeInteger() }),
    },
  },
  pushes: {},
});

export type CafsProtocol = typeof cafsProtocol;

interface Transfer {
  readonly fileKey: string;
  readonly size: number;
  readonly chunks: Array<ChunkRef | undefined>;
  readonly pinned: Set<string>;
}

/**
 * The receiving side: handlers that store offered chunks in `store`. `onFile` hears of every
 * file completed. Transfers are per receiver (all connections share them, so a transfer can
 * resume on a new connection).
 */
export function cafsReceiver(store: ChunkStore, onFile?: (manifest: FileManifest) => void): Handlers<CafsProtocol> {
  const transfers = new Map<string, Transfer>();
  const transferOf = (id: string): Transfer => {
    const transfer = transfers.get(id);
    if (transfer === undefined) throw ProtocolError.of('transfer_unknown', id);
    return transfer;
  };
  return {
    'cafs.offer': (offer) => {
      const count = offer.sizes.length;
      if (offer.keys.length !== count * 32) throw ProtocolError.of('invalid_body', 'keys must hold 32 bytes per size');
      if (offer.first + count > offer.chunkCount) throw ProtocolError.of('transfer_limit', 'page past the chunk count');
      let transfer = transfers.get(offer.transferId);
      if (transfer === undefined || transfer.fileKey !== offer.fileKey || transfer.chunks.length !== offer.chunkCount) {
        if (transfer !== undefined) release(store, transfer);
        if (transfers.size >= TRANSFERS_MAX && !transfers.has(offer.transferId)) throw ProtocolError.of('transfer_limit', `at most ${TRANSFERS_MAX} transfers at once`);
        transfer = { fileKey: offer.fileKey, size: offer.size, chunks: new Array(offer.chunkCount).fill(undefined), pinned: new Set() };
        transfers.set(offer.transferId, transfer);
      }
      const missing = new Uint8Array(Math.ceil(count / 8));
      for (let i = 0; i < count; i++) {
        const key = Buffer.from(offer.keys.subarray(i * 32, i * 32 + 32)).toString('hex');
        transfer.chunks[offer.first + i] = { key, size: offer.sizes[i]! };
        if (store.has(key)) pinOnce(store, transfer, key);
        else missing[i >> 3]! |= 0x80 >> (i & 7);
      }
      return { missing };
    },
    'cafs.chunks': async (message) => {
      const transfer = transferOf(message.transferId);
      // Check every chunk before storing any: a bad message stores nothing.
      const checked = message.chunks.map((chunk) => {
        const expected = transfer.chunks[chunk.index];
        if (expected === undefined) throw ProtocolError.of('chunk_index_invalid', `${chunk.index}`);
        const data = chunk.compressed ? inflate(chunk.data) : chunk.data;
        if (data.length !== expected.size || chunkKey(data) !== expected.key) throw ProtocolError.of('chunk_invalid', `chunk ${chunk.index}`);
        return { data, key: expected.key };
      });
      for (const { data, key } of checked) {
        pinOnce(store, transfer, key); // before the put: a collection meanwhile must not take it
        try {
          await store.put(data, key); // just checked against this key: no second hash
        } catch (error) {
          if (error instanceof StoreFullError) throw ProtocolError.of('store_full', error.message);
          throw error;
        }
      }
      return { stored: checked.length };
    },
    'cafs.done': async ({ transferId: id }) => {
      const transfer = transferOf(id);
      const absent = transfer.chunks.findIndex((chunk) => chunk === undefined || !store.has(chunk.key));
      if (absent >= 0) throw ProtocolError.of('transfer_incomplete', `chunk ${absent} of ${transfer.chunks.length}`);
      const manifest: FileManifest = { fileKey: transfer.fileKey, size: transfer.size, chunks: transfer.chunks as ChunkRef[] };
      const whole = createHash('sha256');
      let size = 0;
      for (const chunk of manifest.chunks) {
        const data = await store.get(chunk.key);
        whole.update(data);
        size += data.length;
      }
      if (size !== manifest.size || whole.digest('hex') !== manifest.fileKey) {
        release(store, transfer);
        transfers.delete(id);
        throw ProtocolError.of('file_mismatch', transfer.fileKey);
      }
      await store.saveFile(manifest);
      release(store, transfer);
      transfers.delete(id);
      onFile?.(manifest);
      return { fileKey: manifest.fileKey, size: manifest.size };
    },
  };
}

function inflate(data: Uint8Array): Uint8Array {
  try {
    return new Uint8Array(inflateRawSync(data, { maxOutputLength: CHUNK_BYTES_MAX }));
  } catch (error) {
    throw ProtocolError.of('chunk_invalid', `does not decompress: ${(error as Error).message}`);
  }
}

function pinOnce(store: ChunkStore, transfer: Transfer, key: string): void {
  if (transfer.pinned.has(key)) return;
  transfer.pinned.add(key);
  store.pin(key);
}

function release(store: ChunkStore, transfer: Transfer): void {
  for (const key of transfer.pinned) store.unpin(key);
  transfer.pinned.clear();
}

/** Chunk messages a sender keeps in flight (flow control): the window in chunks over a batch. */
const MESSAGES_IN_FLIGHT = Math.max(1, Math.floor(CHUNKS_IN_FLIGHT_MAX / CHUNKS_PER_MESSAGE_MAX));

export interface SendReport {
  readonly chunks: number;
  readonly chunksSent: number;
  /** Bytes put on the wire: the chunks' data (after compression) and the offered chunk lists (MessagePack). */
  readonly bytesSent: number;
  readonly fileKey: string;
}

/** Sends `manifest` from `store` to the receiver behind `peer`. Run it again to resume. */
export async function sendFile(
  peer: Pick<RpcPeer<CafsProtocol>, 'request'>,
  store: ChunkStore,
  manifest: FileManifest,
  options: { transferId: string; window?: number; compress?: boolean; onProgress?: (sentChunks: number, missingChunks: number) => void },
): Promise<SendReport> {
  const missing: number[] = [];
  let offerBytes = 0;
  for (let first = 0; first < manifest.chunks.length || (first === 0 && manifest.chunks.length === 0); first += OFFER_PAGE_CHUNKS_MAX) {
    const page = manifest.chunks.slice(first, first + OFFER_PAGE_CHUNKS_MAX);
    const keys = new Uint8Array(page.length * 32);
    page.forEach((chunk, index) => keys.set(Buffer.from(chunk.key, 'hex'), index * 32));
    const offer = { transferId: options.transferId, fileKey: manifest.fileKey, size: manifest.size, chunkCount: manifest.chunks.length, first, keys, sizes: page.map((chunk) => chunk.size) };
    offerBytes += pack(offer).length; // once per page of up to OFFER_PAGE_CHUNKS_MAX chunks: cheap next to the chunks
    const answer = await peer.request('cafs.offer', offer);
    for (let i = 0; i < page.length; i++) if ((answer.missing[i >> 3]! & (0x80 >> (i & 7))) !== 0) missing.push(first + i);
    if (manifest.chunks.length === 0) break;
  }
  let bytesSent = 0;
  let sent = 0;
  let next = 0;
  let incompressible = 0;
  const lane = async (): Promise<void> => {
    while (next < missing.length) {
      const batch: Array<{ index: number; compressed: boolean; data: Uint8Array<ArrayBuffer> }> = [];
      let batchBytes = 0;
      while (next < missing.length && batch.length < CHUNKS_PER_MESSAGE_MAX && batchBytes + CHUNK_BYTES_MAX + 1024 <= BATCH_BYTES_MAX) {
        const index = missing[next++]!;
        const data = await store.get(manifest.chunks[index]!.key);
        // Compression where it pays; after a run of chunks it did not help, stop trying for a while.
        const attempt = options.compress !== false && incompressible < 8 ? deflateRawSync(data, { level: 1 }) : undefined;
        const compressed = attempt !== undefined && attempt.length < data.length * 0.9;
        incompressible = compressed ? 0 : incompressible >= 64 ? 0 : incompressible + 1;
        const payload = (compressed ? new Uint8Array(attempt) : data) as Uint8Array<ArrayBuffer>;
        batch.push({ index, compressed, data: payload });
        batchBytes += payload.length;
      }
      await peer.request('cafs.chunks', { transferId: options.transferId, chunks: batch });
      bytesSent += batchBytes;
      sent += batch.length;
      options.onProgress?.(sent, missing.length);
    }
  };
  const window = Math.min(options.window ?? MESSAGES_IN_FLIGHT, MESSAGES_IN_FLIGHT);
  await Promise.all(Array.from({ length: window }, lane));
  const done = await peer.request('cafs.done', { transferId: options.transferId });
  return { chunks: manifest.chunks.length, chunksSent: sent, bytesSent: bytesSent + offerBytes, fileKey: done.fileKey };
}

