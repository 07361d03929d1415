// Snapshots: the whole state of a host at journal sequence N, so recovery need not replay the
// journal from the start. A snapshot is written in parts of at most SNAPSHOT_PART_BYTES, with a
// manifest written in the same atomic batch; a snapshot without its manifest does not exist.
//
//   snapshot/<seq>/<part>        bytes
//   snapshot-manifest/<seq>      { sequence, journalHash, parts, bytes, sha256 } (MessagePack)
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { assert } from '../assert.js';
import { sequenceKey, type Store, type StoreOperation } from './store.js';

export const SNAPSHOT_PART_BYTES = 4 * 1024 * 1024;

export interface Snapshot {
  /** The journal sequence number the state includes (records after it are replayed). */
  readonly sequence: number;
  /** The journal's chain hash at `sequence`, so replay can verify the chain from there. */
  readonly journalHash: Uint8Array;
  readonly state: Uint8Array;
}

interface Manifest {
  sequence: number;
  journalHash: Uint8Array;
  parts: number;
  bytes: number;
  sha256: Uint8Array;
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export async function writeSnapshot(store: Store, snapshot: Snapshot): Promise<void> {
  const base = sequenceKey(snapshot.sequence);
  const operations: StoreOperation[] = [];
  let parts = 0;
  for (let offset = 0; offset < snapshot.state.length || parts === 0; offset += SNAPSHOT_PART_BYTES) {
    operations.push({ type: 'put', key: `snapshot/${base}/${String(parts).padStart(6, '0')}`, value: snapshot.state.subarray(offset, offset + SNAPSHOT_PART_BYTES) });
    parts += 1;
  }
  const manifest: Manifest = {
    sequence: snapshot.sequence,
    journalHash: snapshot.journalHash,
    parts,
    bytes: snapshot.state.length,
    sha256: new Uint8Array(createHash('sha256').update(snapshot.state).digest()),
  };
  operations.push({ type: 'put', key: `snapshot-manifest/${base}`, value: packr.pack(manifest) });
  await store.batch(operations);
}

/** The newest complete snapshot, checked against its manifest; undefined when there is none. */
export async function readLatestSnapshot(store: Store): Promise<Snapshot | undefined> {
  for await (const [, value] of store.scan('snapshot-manifest/', { reverse: true, limit: 1 })) {
    const manifest = packr.unpack(value) as Manifest;
    const base = sequenceKey(manifest.sequence);
    const state = new Uint8Array(manifest.bytes);
    let offset = 0;
    let parts = 0;
    for await (const [, part] of store.scan(`snapshot/${base}/`)) {
      state.set(part, offset);
      offset += part.length;
      parts += 1;
    }
    assert(parts === manifest.parts && offset === manifest.bytes, `snapshot ${manifest.sequence} is incomplete`);
    const digest = createHash('sha256').update(state).digest();
    assert(digest.equals(Buffer.from(manifest.sha256)), `snapshot ${manifest.sequence} is corrupt (hash mismatch)`);
    return { sequence: manifest.sequence, journalHash: new Uint8Array(manifest.journalHash), state };
  }
  return undefined;
}

/** Deletes all but the newest `keep` snapshots. */
export async function pruneSnapshots(store: Store, keep = 2): Promise<void> {
  const sequences: string[] = [];
  for await (const [key] of store.scan('snapshot-manifest/', { reverse: true })) sequences.push(key.slice('snapshot-manifest/'.length));
  for (const base of sequences.slice(keep)) {
    const operations: StoreOperation[] = [{ type: 'delete', key: `snapshot-manifest/${base}` }];
    for await (const [key] of store.scan(`snapshot/${base}/`)) operations.push({ type: 'delete', key });
    await store.batch(operations);
  }
}
