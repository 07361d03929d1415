// Reads a stopped exchange's journal offline, from its data directory: checks the hash chain and
// counts every (address, nonce) pair the records consumed. The record format is the exchange's
// (src/server/exchange.ts): MessagePack `{ command, nonce?: [address, nonce] }`.
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { Journal } from '../../src/store/journal.js';
import { LmdbStore } from '../../src/store/lmdb.js';
import { nonceKey } from './signing.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, encodeUndefinedAsNil: true });

export interface JournalAudit {
  readonly chainValid: boolean;
  /** The chain's first problem, when it is not valid. */
  readonly chainProblem: string;
  readonly records: number;
  /** How often each (address, nonce) appears, keyed by nonceKey. */
  readonly nonceCounts: Map<string, number>;
  /** Records by command type. */
  readonly commandTypes: Map<string, number>;
  /** Complete snapshots in the store (recovery replays only the journal after the newest). */
  readonly snapshots: number;
}

export async function auditJournal(dataDir: string): Promise<JournalAudit> {
  const store = new LmdbStore(join(dataDir, 'store'));
  try {
    const journal = await Journal.open(store);
    const verdict = await journal.verify();
    const nonceCounts = new Map<string, number>();
    const commandTypes = new Map<string, number>();
    let records = 0;
    for await (const record of journal.readFrom(1)) {
      records += 1;
      const entry = packr.unpack(record.payload) as { command?: { type?: string }; nonce?: [string, string] };
      const type = String(entry.command?.type);
      commandTypes.set(type, (commandTypes.get(type) ?? 0) + 1);
      if (entry.nonce === undefined || entry.nonce === null) continue;
      const key = nonceKey(entry.nonce[0], entry.nonce[1]);
      nonceCounts.set(key, (nonceCounts.get(key) ?? 0) + 1);
    }
    let snapshots = 0;
    for await (const _manifest of store.scan('snapshot-manifest/')) snapshots += 1;
    return {
      snapshots,
      chainValid: verdict.ok,
      chainProblem: verdict.ok ? '' : `record ${verdict.sequence}: ${verdict.reason}`,
      records,
      nonceCounts,
      commandTypes,
    };
  } finally {
    await store.close();
  }
}
