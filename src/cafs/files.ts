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
        // Pinned before it is stored and until the file is saved: a collection that runs while
        // this import waits on the store (or a budgeted store making room) cannot take it.
        store.pin(chunk.key);
        chunks.push({ key: chunk.key, size: chunk.data.length });
        await store.put(chunk.data, chunk.key);
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

/** A stored file, to stream as often as needed (each read is checked against the file key). */
export interface FileSource {
  readonly size: number;
  read(): AsyncIterable<Uint8Array>;
}

export function fileSource(store: ChunkStore, manifest: FileManifest): FileSource {
  return { size: manifest.size, read: () => readFile(store, manifest) };
}

/** The first `limit` bytes of a stream (fewer if it is shorter); reads no further than it needs. */
export async function readHead(input: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of input) {
    parts.push(part.subarray(0, limit - size));
    size += parts.at(-1)!.length;
    if (size >= limit) break;
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** Reads a whole file into memory (for small files and tests). */
export async function readFileBytes(store: ChunkStore, manifest: FileManifest): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of readFile(store, manifest)) parts.push(part);
  return new Uint8Array(Buffer.concat(parts));
}
