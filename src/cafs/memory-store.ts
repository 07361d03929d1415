// A chunk store in memory with a byte budget: chunks no file or pin holds are evicted, oldest use
// first, when room is needed; a put that cannot make room fails with StoreFullError.
import { assert } from '../assert.js';
import { assertChunksPresent, checkChunk, chunkKey, MissingChunkError, RefCounts, StoreFullError, type ChunkStore, type FileManifest } from './chunk-store.js';

/** Bookkeeping per entry counted against the budget (as the original did). */
const ENTRY_OVERHEAD_BYTES = 112;

export class MemoryChunkStore implements ChunkStore {
  readonly description = 'memory';
  /** Insertion order is use order: a touched entry is re-inserted at the end. */
  private readonly chunks = new Map<string, Uint8Array>();
  private readonly files = new Map<string, FileManifest>();
  private readonly refs = new RefCounts();
  private bytes = 0;

  constructor(private readonly budgetBytes: number = 256 * 1024 * 1024) {
    assert(budgetBytes > 0, 'a memory store needs a positive budget');
  }

  has(key: string): boolean {
    return this.chunks.has(key);
  }

  async get(key: string): Promise<Uint8Array> {
    const data = this.chunks.get(key);
    if (data === undefined) throw new MissingChunkError(`chunk ${key.slice(0, 16)}… is not in the store`);
    this.chunks.delete(key);
    this.chunks.set(key, data);
    return checkChunk(key, data).slice();
  }

  async put(data: Uint8Array, knownKey?: string): Promise<string> {
    const key = knownKey ?? chunkKey(data);
    if (this.chunks.has(key)) return key;
    const cost = data.length + ENTRY_OVERHEAD_BYTES;
    this.makeRoom(cost);
    this.chunks.set(key, data.slice());
    this.bytes += cost;
    return key;
  }

  pin(key: string): void {
    this.refs.add(key);
  }

  unpin(key: string): void {
    this.refs.remove(key);
  }

  async saveFile(manifest: FileManifest): Promise<void> {
    if (this.files.has(manifest.fileKey)) return;
    assertChunksPresent(manifest, (key) => this.chunks.has(key));
    for (const chunk of manifest.chunks) this.refs.add(chunk.key);
    this.files.set(manifest.fileKey, manifest);
  }

  async loadFile(fileKey: string): Promise<FileManifest | undefined> {
    return this.files.get(fileKey);
  }

  async deleteFile(fileKey: string): Promise<void> {
    const manifest = this.files.get(fileKey);
    if (manifest === undefined) return;
    this.files.delete(fileKey);
    for (const chunk of manifest.chunks) this.refs.remove(chunk.key);
  }

  async listFiles(): Promise<string[]> {
    return [...this.files.keys()];
  }

  async gc(): Promise<{ removedChunks: number; freedBytes: number }> {
    let removedChunks = 0;
    let freedBytes = 0;
    for (const [key, data] of [...this.chunks]) {
      if (this.refs.held(key)) continue;
      this.chunks.delete(key);
      this.bytes -= data.length + ENTRY_OVERHEAD_BYTES;
      removedChunks += 1;
      freedBytes += data.length;
    }
    return { removedChunks, freedBytes };
  }

  usage(): { chunks: number; bytes: number } {
    return { chunks: this.chunks.size, bytes: this.bytes };
  }

  chunkCostBytes(size: number): number {
    return size + ENTRY_OVERHEAD_BYTES;
  }

  private makeRoom(cost: number): void {
    if (this.bytes + cost <= this.budgetBytes) return;
    for (const [key, data] of this.chunks) {
      if (this.bytes + cost <= this.budgetBytes) break;
      if (this.refs.held(key)) continue;
      this.chunks.delete(key);
      this.bytes -= data.length + ENTRY_OVERHEAD_BYTES;
    }
    if (this.bytes + cost > this.budgetBytes) throw new StoreFullError(`no room for ${cost} bytes: ${this.bytes} of ${this.budgetBytes} are held by files and pins`);
  }
}

