// Chunk stores: content-addressed chunks (key = SHA-256 of the bytes, lowercase hex), files as
// manifests (the list of their chunks) that pin their chunks, and garbage collection of chunks no
// file pins. Every read re-hashes the chunk: a corrupt chunk is an error, never data.
import { hash } from 'node:crypto';

export interface ChunkRef {
  readonly key: string;
  readonly size: number;
}

/** A file: its key (SHA-256 of the whole content, hex), its size and its chunks in order. */
export interface FileManifest {
  readonly fileKey: string;
  readonly size: number;
  readonly chunks: readonly ChunkRef[];
}

export class CorruptChunkError extends Error {
  override name = 'CorruptChunkError';
}

export class MissingChunkError extends Error {
  override name = 'MissingChunkError';
}

export class StoreFullError extends Error {
  override name = 'StoreFullError';
}

export interface ChunkStore {
  readonly description: string;
  has(key: string): boolean;
  /** The chunk's bytes, checked against its key; throws MissingChunkError or CorruptChunkError. */
  get(key: string): Promise<Uint8Array>;
  /**
   * Stores a chunk (a no-op when present) and returns its key. `knownKey` is the SHA-256 the
   * caller has just computed itself (chunk-hasher.ts), saving a second hash; never pass a key
   * that came from elsewhere. Reads check every chunk regardless.
   */
  put(data: Uint8Array, knownKey?: string): Promise<string>;
  /** Keeps a chunk from eviction and collection (e.g. while a transfer is in progress). */
  pin(key: string): void;
  unpin(key: string): void;
  /** Records a file; its chunks must all be present. Pins them until the file is deleted. */
  saveFile(manifest: FileManifest): Promise<void>;
  loadFile(fileKey: string): Promise<FileManifest | undefined>;
  deleteFile(fileKey: string): Promise<void>;
  /** The keys of every recorded file. */
  listFiles(): Promise<string[]>;
  /** Removes every chunk no file and no pin holds. */
  gc(): Promise<{ removedChunks: number; freedBytes: number }>;
  usage(): { chunks: number; bytes: number };
  /** What `usage().bytes` counts for a chunk of `size` bytes. */
  chunkCostBytes(size: number): number;
}

export function chunkKey(data: Uint8Array): string {
  return hash('sha256', data, 'hex');
}

export function checkChunk(key: string, data: Uint8Array): Uint8Array {
  if (chunkKey(data) !== key) throw new CorruptChunkError(`chunk ${key.slice(0, 16)}… does not match its hash`);
  return data;
}

export const KEY_PATTERN = /^[0-9a-f]{64}$/;

/** Reference counts of chunks held by files and pins. */
export class RefCounts {
  private readonly counts = new Map<string, number>();

  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  remove(key: string): void {
    const count = (this.counts.get(key) ?? 0) - 1;
    if (count <= 0) this.counts.delete(key);
    else this.counts.set(key, count);
  }

  held(key: string): boolean {
    return this.counts.has(key);
  }
}

/** Throws MissingChunkError unless every chunk of `manifest` is present. */
export function assertChunksPresent(manifest: FileManifest, has: (key: string) => boolean): void {
  const missing = manifest.chunks.find((chunk) => !has(chunk.key));
  if (missing !== undefined) throw new MissingChunkError(`file ${manifest.fileKey.slice(0, 16)}… lacks chunk ${missing.key.slice(0, 16)}…`);
}
