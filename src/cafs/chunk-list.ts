// The chunk list of a large file as a tree: the list is cut into list nodes of at most
// LIST_NODE_ENTRIES_MAX entries, each entry 36 bytes (the chunk key, 32 bytes, and its size, 4
// bytes big-endian), and each node is stored as an ordinary content-addressed chunk. A large
// file's manifest then names only its list nodes.
import { assert } from '../assert.js';
import type { ChunkRef } from './chunk-store.js';
import { CHUNK_BYTES_MAX } from './limits.js';

const ENTRY_BYTES = 36;
export const LIST_NODE_ENTRIES_MAX = Math.floor(CHUNK_BYTES_MAX / ENTRY_BYTES);
/** Files with more chunks than this keep their list in list nodes. */
export const INLINE_LIST_ENTRIES_MAX = 1024;

export function encodeListNodes(chunks: readonly ChunkRef[]): Uint8Array[] {
  const nodes: Uint8Array[] = [];
  for (let first = 0; first < chunks.length; first += LIST_NODE_ENTRIES_MAX) {
    const entries = chunks.slice(first, first + LIST_NODE_ENTRIES_MAX);
    const node = Buffer.alloc(entries.length * ENTRY_BYTES);
    entries.forEach((chunk, index) => {
      node.write(chunk.key, index * ENTRY_BYTES, 'hex');
      node.writeUInt32BE(chunk.size, index * ENTRY_BYTES + 32);
    });
    nodes.push(new Uint8Array(node));
  }
  return nodes;
}

export function decodeListNode(node: Uint8Array): ChunkRef[] {
  assert(node.length % ENTRY_BYTES === 0, 'a list node holds whole 36-byte entries');
  const view = Buffer.from(node.buffer, node.byteOffset, node.byteLength);
  const chunks: ChunkRef[] = [];
  for (let offset = 0; offset < view.length; offset += ENTRY_BYTES) {
    chunks.push({ key: view.toString('hex', offset, offset + 32), size: view.readUInt32BE(offset + 32) });
  }
  return chunks;
}
