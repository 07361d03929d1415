// File collection under a byte budget: when a store holds more than its budget, the files no live
// reference needs are deleted, least recently used first, until what is left fits; then their
// chunks are collected. Files share chunks, so deleting a file frees only the chunks no other file
// holds: the count is kept per chunk. A chunk pinned by a transfer in progress is never collected
// (gc keeps it), so a store whose live files and pins alone exceed the budget stays over it.
import type { ChunkStore } from './chunk-store.js';

export interface RetentionRequest {
  /** What the store may hold, in the bytes its `usage()` counts. */
  readonly budgetBytes: number;
  /** Files that must stay (named by an open trade, pinned by a job, among the newest results). */
  readonly live: ReadonlySet<string>;
  /** When a file was last used (larger is newer); files are deleted oldest first, ties by key. */
  readonly lastUsedMs: (fileKey: string) => number;
}

export interface RetentionReport {
  readonly deletedFiles: readonly string[];
  readonly removedChunks: number;
  readonly freedBytes: number;
  /** The store's bytes after collection. */
  readonly bytes: number;
  /** True when live files and pins alone hold more than the budget. */
  readonly overBudget: boolean;
}

export async function collectFiles(store: ChunkStore, request: RetentionRequest): Promise<RetentionReport> {
  let { removedChunks, freedBytes } = await store.gc();
  const deletedFiles: string[] = [];
  let bytes = store.usage().bytes;
  if (bytes <= request.budgetBytes) return { deletedFiles, removedChunks, freedBytes, bytes, overBudget: false };

  const holders = new Map<string, number>();
  const chunksOf = new Map<string, Map<string, number>>();
  for (const fileKey of await store.listFiles()) {
    const manifest = await store.loadFile(fileKey);
    if (manifest === undefined) continue;
    const chunks = new Map(manifest.chunks.map((chunk) => [chunk.key, chunk.size]));
    chunksOf.set(fileKey, chunks);
    for (const key of chunks.keys()) holders.set(key, (holders.get(key) ?? 0) + 1);
  }
  const candidates = [...chunksOf.keys()]
    .filter((fileKey) => !request.live.has(fileKey))
    .sort((a, b) => request.lastUsedMs(a) - request.lastUsedMs(b) || (a < b ? -1 : a > b ? 1 : 0));

  while (bytes > request.budgetBytes && candidates.length > 0) {
    // Delete until the estimate fits, then collect and measure. The estimate never frees more than gc
    // will (a pinned chunk stays), so no file goes that the budget did not need gone.
    let estimate = bytes;
    while (estimate > request.budgetBytes && candidates.length > 0) {
      const fileKey = candidates.shift()!;
      await store.deleteFile(fileKey);
      deletedFiles.push(fileKey);
      for (const [key, size] of chunksOf.get(fileKey)!) {
        const left = holders.get(key)! - 1;
        holders.set(key, left);
        if (left === 0) estimate -= store.chunkCostBytes(size);
      }
    }
    const collected = await store.gc();
    removedChunks += collected.removedChunks;
    freedBytes += collected.freedBytes;
    bytes = store.usage().bytes;
  }
  return { deletedFiles, removedChunks, freedBytes, bytes, overBudget: bytes > request.budgetBytes };
}
