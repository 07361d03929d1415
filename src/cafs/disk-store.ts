// The daemon's on-disk chunk store: survives restarts. Chunks are files named by their key under
// chunks/<first two hex digits>/, manifests are JSON files under files/; every write goes to a
// temporary file first and is renamed into place, so a crash leaves either nothing or a whole
// file. Reference counts are rebuilt from the manifests at open, so they are right after a crash.
// A large file's chunk list is stored as a tree: list nodes kept as chunks (chunk-list.ts), and a
// manifest that names them.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeListNode, encodeListNodes, INLINE_LIST_ENTRIES_MAX } from './chunk-list.js';
import { assertChunksPresent, checkChunk, chunkKey, KEY_PATTERN, MissingChunkError, RefCounts, type ChunkStore, type FileManifest } from './chunk-store.js';

/** A manifest as stored: the chunk list inline, or (for large files) the keys of its list nodes. */
type StoredManifest = FileManifest | { readonly fileKey: string; readonly size: number; readonly chunkCount: number; readonly listNodes: string[] };

export class DiskChunkStore implements ChunkStore {
  readonly description: string;
  private readonly refs = new RefCounts();
  private readonly present = new Set<string>();
  private bytes = 0;
  private temporaryCounter = 0;
  /** Shard folders known to exist (a mkdir per chunk costs more than the write). */
  private readonly shards = new Set<string>();

  constructor(private readonly directory: string) {
    this.description = `disk:${directory}`;
    mkdirSync(join(directory, 'chunks'), { recursive: true, mode: 0o700 });
    mkdirSync(join(directory, 'files'), { recursive: true, mode: 0o700 });
    for (const shard of readdirSync(join(directory, 'chunks'))) {
      for (const name of readdirSync(join(directory, 'chunks', shard))) {
        if (!KEY_PATTERN.test(name)) continue; // a temporary file left by a crash
        this.present.add(name);
        this.bytes += statSync(join(directory, 'chunks', shard, name)).size;
      }
    }
    for (const name of readdirSync(join(directory, 'files'))) {
      if (!name.endsWith('.json')) continue;
      const { manifest, listNodes } = this.readStored(join(directory, 'files', name));
      for (const key of [...manifest.chunks.map((chunk) => chunk.key), ...listNodes]) this.refs.add(key);
    }
  }

  has(key: string): boolean {
    return this.present.has(key);
  }

  async get(key: string): Promise<Uint8Array> {
    if (!KEY_PATTERN.test(key) || !this.present.has(key)) throw new MissingChunkError(`chunk ${key.slice(0, 16)}… is not in the store`);
    return checkChunk(key, new Uint8Array(await readFile(this.chunkPath(key))));
  }

  async put(data: Uint8Array, knownKey?: string): Promise<string> {
    const key = knownKey ?? chunkKey(data);
    if (this.present.has(key)) return key;
    const shard = key.slice(0, 2);
    if (!this.shards.has(shard)) {
      mkdirSync(join(this.directory, 'chunks', shard), { recursive: true, mode: 0o700 });
      this.shards.add(shard);
    }
    this.writeAtomically(this.chunkPath(key), data);
    this.present.add(key);
    this.bytes += data.length;
    return key;
  }

  pin(key: string): void {
    this.refs.add(key);
  }

  unpin(key: string): void {
    this.refs.remove(key);
  }

  async saveFile(manifest: FileManifest): Promise<void> {
    const path = this.filePath(manifest.fileKey);
    if (existsSync(path)) return;
    assertChunksPresent(manifest, (key) => this.present.has(key));
    let stored: StoredManifest = manifest;
    const listNodes: string[] = [];
    if (manifest.chunks.length > INLINE_LIST_ENTRIES_MAX) {
      for (const node of encodeListNodes(manifest.chunks)) listNodes.push(await this.put(node));
      stored = { fileKey: manifest.fileKey, size: manifest.size, chunkCount: manifest.chunks.length, listNodes };
    }
    this.writeAtomically(path, Buffer.from(JSON.stringify(stored)));
    for (const key of [...manifest.chunks.map((chunk) => chunk.key), ...listNodes]) this.refs.add(key);
  }

  async loadFile(fileKey: string): Promise<FileManifest | undefined> {
    if (!KEY_PATTERN.test(fileKey)) return undefined;
    const path = this.filePath(fileKey);
    return existsSync(path) ? this.readStored(path).manifest : undefined;
  }

  async deleteFile(fileKey: string): Promise<void> {
    const path = this.filePath(fileKey);
    if (!KEY_PATTERN.test(fileKey) || !existsSync(path)) return;
    const { manifest, listNodes } = this.readStored(path);
    rmSync(path);
    for (const key of [...manifest.chunks.map((chunk) => chunk.key), ...listNodes]) this.refs.remove(key);
  }

  /** Reads a stored manifest, following its list nodes (each checked against its key). */
  private readStored(path: string): { manifest: FileManifest; listNodes: string[] } {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as StoredManifest;
    if (!('listNodes' in stored)) return { manifest: stored, listNodes: [] };
    const chunks = stored.listNodes.flatMap((key) => decodeListNode(checkChunk(key, new Uint8Array(readFileSync(this.chunkPath(key))))));
    if (chunks.length !== stored.chunkCount) throw new MissingChunkError(`file ${stored.fileKey.slice(0, 16)}…: its list nodes hold ${chunks.length} of ${stored.chunkCount} chunks`);
    return { manifest: { fileKey: stored.fileKey, size: stored.size, chunks }, listNodes: stored.listNodes };
  }

  async gc(): Promise<{ removedChunks: number; freedBytes: number }> {
    let removedChunks = 0;
    let freedBytes = 0;
    for (const key of [...this.present]) {
      if (this.refs.held(key)) continue;
      const path = this.chunkPath(key);
      const size = statSync(path).size;
      rmSync(path);
      this.present.delete(key);
      this.bytes -= size;
      removedChunks += 1;
      freedBytes += size;
    }
    return { removedChunks, freedBytes };
  }

  usage(): { chunks: number; bytes: number } {
    return { chunks: this.present.size, bytes: this.bytes };
  }

  private chunkPath(key: string): string {
    return join(this.directory, 'chunks', key.slice(0, 2), key);
  }

  private filePath(fileKey: string): string {
    return join(this.directory, 'files', `${fileKey}.json`);
  }

  private writeAtomically(path: string, data: Uint8Array): void {
    const temporary = `${path}.${process.pid}.${this.temporaryCounter++}.tmp`;
    writeFileSync(temporary, data, { mode: 0o600 });
    renameSync(temporary, path);
  }
}
