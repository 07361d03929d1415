// Recovery = the latest snapshot + a replay of the journal after it, checking the hash chain as
// it goes. The caller supplies how to restore a snapshot and how to apply one record.
import { chainHash, equalHashes, GENESIS_HASH, type Journal, type JournalRecord } from './journal.js';
import { readLatestSnapshot } from './snapshots.js';
import type { Store } from './store.js';

export interface RecoveryHandlers {
  /** Called once: with the snapshot's state, or undefined to start from the empty state. */
  restore(state: Uint8Array | undefined, sequence: number): void;
  apply(record: JournalRecord): void;
}

export interface RecoveryReport {
  readonly snapshotSequence: number;
  readonly replayedRecords: number;
  readonly lastSequence: number;
}

export class RecoveryError extends Error {
  override name = 'RecoveryError';
}

export async function recover(store: Store, journal: Journal, handlers: RecoveryHandlers): Promise<RecoveryReport> {
  const snapshot = await readLatestSnapshot(store);
  const snapshotSequence = snapshot?.sequence ?? 0;
  handlers.restore(snapshot?.state, snapshotSequence);
  let previous = snapshot?.journalHash ?? GENESIS_HASH;
  let expected = snapshotSequence + 1;
  for await (const records of journal.readChunksFrom(expected)) {
    for (const record of records) {
      if (record.sequence !== expected) throw new RecoveryError(`journal record ${expected} is missing (found ${record.sequence})`);
      const hash = chainHash(previous, record.sequence, record.payload);
      if (!equalHashes(hash, record.hash)) throw new RecoveryError(`journal record ${expected} breaks the hash chain`);
      handlers.apply(record);
      previous = hash;
      expected += 1;
    }
  }
  return { snapshotSequence, replayedRecords: expected - 1 - snapshotSequence, lastSequence: expected - 1 };
}
