// The daemon's on-disk chunk store: survives restarts. Chunks are appended to pack files under
// packs/ (pack-files.ts); manifests are JSON files under files/, each written to a temporary file
// and renamed into place after the packs are synced, so a manifest never names a chunk a crash
// could lose. Reference counts are rebuilt from the manifests at open, so they are right after a
// crash. A store from before packs (one file per chunk under chunks/) is moved into packs at open.
// A large file's chunk list is stored as a tree: list nodes kept as chunks (chunk-list.ts), and a
// manifest that names them.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeListNode, encodeListNodes, INLINE_LIST_ENTRIES_MAX } from './chunk-list.js';
import { assertChunksPresent, checkChunk, chunkKey, KEY_PATTERN, MissingChunkError, RefCounts, type ChunkStore, type FileManifest } from './chunk-store.js';
import { PackFiles } from './pack-files.js';

/** A manifest as stored: the chunk list inline, or (for large files) the keys of its list nodes. */
type StoredManifest = FileManifest | { readonly fileKey: string; readonly size: number; readonly chunkCount: number; readonly listNodes: string[] };

export class DiskChunkStore implements ChunkStore {
  readonly description: string;
  private readonly refs = new RefCounts();
  private readonly packs: PackFiles;
  private bytes = 0;
  private temporaryCounter = 0;

  constructor(private readonly directory: string, options: { packBytesTarget?: number } = {}) {
    this.description = `disk:${directory}`;
    mkdirSync(join(directory, 'files'), { recursive: true, mode: 0o700 });
    this.packs = new PackFiles(join(directory, 'packs'), options.packBytesTarget);
    this.moveLooseChunks(join(directory, 'chunks'));
    for (const [, size] of this.packs.chunks()) this.bytes += size;
    for (const name of readdirSync(join(directory, 'files'))) {
      if (!name.endsWith('.json')) continue;
      const { manifest, listNodes } = this.readStored(join(directory, 'files', name));
      for (const key of [...manifest.chunks.map((chunk) => chunk.key), ...listNodes]) this.refs.add(key);
    }
  }

  has(key: string): boolean {
    return this.packs.has(key);
  }

  async get(key: string): Promise<Uint8Array> {
    if (!KEY_PATTERN.test(key) || !this.packs.has(key)) throw new MissingChunkError(`chunk ${key.slice(0, 16)}… is not in the store`);
    return checkChunk(key, await this.packs.read(key));
  }

  async put(data: Uint8Array, knownKey?: string): Promise<string> {
    const key = knownKey ?? chunkKey(data);
    if (this.packs.has(key)) return key;
    this.packs.write(key, data);
    this.bytes += data.length;
    return key;
  }

  /** Closes the pack files (the store is not used after). */
  close(): void {
    this.packs.close();
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
    assertChunksPresent(manifest, (key) => this.packs.has(key));
    let stored: StoredManifest = manifest;
    const listNodes: string[] = [];
    if (manifest.chunks.length > INLINE_LIST_ENTRIES_MAX) {
      for (const node of encodeListNodes(manifest.chunks)) listNodes.push(await this.put(node));
      stored = { fileKey: manifest.fileKey, size: manifest.size, chunkCount: manifest.chunks.length, listNodes };
    }
    this.packs.sync();
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

  async listFiles(): Promise<string[]> {
    return readdirSync(join(this.directory, 'files')).flatMap((name) => {
      const fileKey = name.slice(0, -'.json'.length);
      return name.endsWith('.json') && KEY_PATTERN.test(fileKey) ? [fileKey] : [];
    });
  }

  /** Reads a stored manifest, following its list nodes (each checked against its key). */
  private readStored(path: string): { manifest: FileManifest; listNodes: string[] } {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as StoredManifest;
    if (!('listNodes' in stored)) return { manifest: stored, listNodes: [] };
    const chunks = stored.listNodes.flatMap((key) => decodeListNode(checkChunk(key, this.packs.readSync(key))));
    if (chunks.length !== stored.chunkCount) throw new MissingChunkError(`file ${stored.fileKey.slice(0, 16)}…: its list nodes hold ${chunks.length} of ${stored.chunkCount} chunks`);
    return { manifest: { fileKey: stored.fileKey, size: stored.size, chunks }, listNodes: stored.listNodes };
  }

  async gc(): Promise<{ removedChunks: number; freedBytes: number }> {
    const removed: string[] = [];
    let freedBytes = 0;
    for (const [key, size] of this.packs.chunks()) {
      if (this.refs.held(key)) continue;
      removed.push(key);
      freedBytes += size;
    }
    this.packs.remove(removed);
    this.bytes -= freedBytes;
    return { removedChunks: removed.length, freedBytes };
  }

  usage(): { chunks: number; bytes: number } {
    return { chunks: this.packs.count, bytes: this.bytes };
  }

  chunkCostBytes(size: number): number {
    return size;
  }

  /** Moves a store from before packs (chunks/<shard>/<key>) into packs; a file that is not its chunk is left out. */
  private moveLooseChunks(looseDirectory: string): void {
    if (!existsSync(looseDirectory)) return;
    for (const shard of readdirSync(looseDirectory)) {
      for (const name of readdirSync(join(looseDirectory, shard))) {
        if (!KEY_PATTERN.test(name)) continue; // a temporary file left by a crash
        const data = new Uint8Array(readFileSync(join(looseDirectory, shard, name)));
        if (chunkKey(data) === name) this.packs.write(name, data);
      }
    }
    this.packs.sync();
    rmSync(looseDirectory, { recursive: true, force: true });
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
