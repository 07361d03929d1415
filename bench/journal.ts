// Journal benchmark on the embedded lmdb store: durable appends per second with group commit
// (appends issued in waves; each resolves only when flushed to disk), and recovery time (replay
// with hash-chain verification) per million journal entries.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../src/store/journal.js';
import { LmdbStore } from '../src/store/lmdb.js';
import { recover } from '../src/store/recovery.js';
import { benchOptions, printFigures, round } from './support.js';

const options = benchOptions();
const records = options.quick ? 200_000 : 1_000_000;
const wave = 20_000;
const payload = new Uint8Array(100).fill(7); // about a journalled bid command
const directory = mkdtempSync(join(tmpdir(), 'bitwrk-journal-bench-'));
try {
  const store = new LmdbStore(join(directory, 'db'));
  const journal = await Journal.open(store);
  const appendStart = process.hrtime.bigint();
  for (let written = 0; written < records; written += wave) {
    await Promise.all(Array.from({ length: wave }, () => journal.append(payload)));
  }
  const appendSeconds = Number(process.hrtime.bigint() - appendStart) / 1e9;
  await store.close();

  const reopened = new LmdbStore(join(directory, 'db'));
  const recoveryStart = process.hrtime.bigint();
  let applied = 0;
  const report = await recover(reopened, await Journal.open(reopened), { restore() {}, apply() { applied += 1; } });
  const recoverySeconds = Number(process.hrtime.bigint() - recoveryStart) / 1e9;
  if (report.lastSequence !== records || applied !== records) throw new Error(`recovered ${applied} of ${records}`);
  await reopened.close();
  printFigures('journal', {
    records,
    payloadBytes: payload.length,
    durableAppendsPerSecond: round(records / appendSeconds),
    recoverySecondsPerMillion: round((recoverySeconds * 1_000_000) / records, 2),
    goalAppendsPerSecond: 100_000,
    goalRecoverySecondsPerMillion: 10,
  });
} finally {
  rmSync(directory, { recursive: true, force: true });
}
