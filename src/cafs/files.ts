// Files in and out of a chunk store, streaming: a file never has to fit in memory. The file key
// is the SHA-256 of the whole content (what a buyer commits to as the work hash).
import { createHash } from 'node:crypto';
import type { ChunkStore, FileManifest } from './chunk-store.js';
import { hashedChunks, type ChunkHashOptions } from './chunk-hasher.js';

export class FileMismatchError extends Error {
  override name = 'FileMismatchError';
}

/**
 * Chunks a stream into the store and records the file; returns its manifest. With
 * `options.hasher` the chunks are hashed on that worker thread, overlapped with chunking.
 */
export async function importFile(store: ChunkStore, input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: ChunkHashOptions = {}): Promise<FileManifest> {
  const whole = createHash('sha256');
  let size = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const data of input) {
      whole.update(data);
      size += data.length;
      yield data;
    }
  }
  const chunks: Array<{ key: string; size: number }> = [];
  try {
    for await (const block of hashedChunks(counted(), options)) {
      for (const chunk of block) {
        const key = await store.put(chunk.data, chunk.key);
        store.pin(key); // held until the file is saved, so a budgeted store cannot evict it meanwhile
        chunks.push({ key, size: chunk.data.length });
      }
    }
    const manifest: FileManifest = { fileKey: whole.digest('hex'), size, chunks };
    await store.saveFile(manifest);
    return manifest;
  } finally {
    for (const chunk of chunks) store.unpin(chunk.key);
  }
}

/** The file's bytes, chunk by chunk, each checked; the whole is checked against the file key. */
/** Chunk reads kept in flight ahead of the one being returned. */
const READ_AHEAD_CHUNKS = 8;

export async function* readFile(store: ChunkStore, manifest: FileManifest): AsyncIterable<Uint8Array> {
  const whole = createHash('sha256');
  let size = 0;
  // A few reads in flight: a disk store's reads then overlap instead of waiting on each other.
  const reads: Promise<Uint8Array>[] = [];
  let nextIndex = 0;
  for (const chunk of manifest.chunks) {
    while (reads.length < READ_AHEAD_CHUNKS && nextIndex < manifest.chunks.length) {
      const read = store.get(manifest.chunks[nextIndex++]!.key);
      read.catch(() => undefined); // awaited in turn below; an early stop must not leave it unhandled
      reads.push(read);
    }
    const data = await reads.shift()!;
    if (data.length !== chunk.size) throw new FileMismatchError(`chunk ${chunk.key.slice(0, 16)}… has ${data.length} bytes, the manifest says ${chunk.size}`);
    whole.update(data);
    size += data.length;
    yield data;
  }
  if (size !== manifest.size || whole.digest('hex') !== manifest.fileKey) throw new FileMismatchError(`file ${manifest.fileKey.slice(0, 16)}… does not match its key`);
}

/** Reads a whole file into memory (for small files and tests). */
export async function readFileBytes(store: ChunkStore, manifest: FileManifest): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of readFile(store, manifest)) parts.push(part);
  return new Uint8Array(Buffer.concat(parts));
}
