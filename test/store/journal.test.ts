// Goal: the journal keeps every acknowledged record, in order, hash-chained, and survives a
// kill -9 at any moment with exactly a prefix of its appends. Method: unit tests on the memory and
// lmdb stores; a crash test that kills a child process (SIGKILL) mid-append several times and
// checks recovery each time; snapshots + replay give the same state as a full replay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createPrng } from '../../src/random.js';
import { Journal } from '../../src/store/journal.js';
import { LmdbStore } from '../../src/store/lmdb.js';
import { MemoryStore } from '../../src/store/memory.js';
import { recover, RecoveryError } from '../../src/store/recovery.js';
import { readLatestSnapshot, writeSnapshot, pruneSnapshots } from '../../src/store/snapshots.js';
import type { Store, StoreOperation } from '../../src/store/store.js';
import { payloadFor } from './crash-child.js';

/** A memory store that counts durable batches, to observe group commit. */
class CountingStore extends MemoryStore {
  batches = 0;
  override async batch(operations: readonly StoreOperation[]): Promise<void> {
    this.batches += 1;
    await super.batch(operations);
  }
}

test('appends get consecutive sequence numbers, are read back in order, and the chain verifies', async () => {
  const store = new MemoryStore();
  const journal = await Journal.open(store);
  const sequences = await Promise.all([1, 2, 3].map((n) => journal.append(Uint8Array.of(n))));
  assert.deepEqual(sequences, [1, 2, 3]);
  const records = [];
  for await (const record of journal.readFrom(2)) records.push([record.sequence, [...record.payload]]);
  assert.deepEqual(records, [[2, [2]], [3, [3]]]);
  assert.deepEqual(await journal.verify(), { ok: true, records: 3, lastSequence: 3 });
  const reopened = await Journal.open(store);
  assert.equal(reopened.lastSequence, 3);
  assert.equal(await reopened.append(Uint8Array.of(4)), 4);
  assert.deepEqual(await reopened.verify(), { ok: true, records: 4, lastSequence: 4 });
});

test('appends made while a commit is in flight go out together (group commit)', async () => {
  const store = new CountingStore();
  const journal = await Journal.open(store);
  await Promise.all(Array.from({ length: 1000 }, (_, n) => journal.append(Uint8Array.of(n & 0xff))));
  assert.ok(store.batches <= 2, `1000 appends took ${store.batches} batches`);
  assert.equal(journal.lastDurableSequence, 1000);
});

test('tampering with a record or removing one is found by verify and by recovery', async () => {
  const store = new MemoryStore();
  const journal = await Journal.open(store);
  for (let n = 1; n <= 5; n++) await journal.append(Uint8Array.of(n));
  const key = 'journal/0000000000000003';
  const original = (await store.get(key))!;
  const tampered = original.slice();
  tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
  await store.put(key, tampered);
  assert.deepEqual(await journal.verify(), { ok: false, sequence: 3, reason: 'hash does not match the chain' });
  await assert.rejects(recover(store, journal, { restore() {}, apply() {} }), RecoveryError);
  await store.delete(key);
  const verdict = await journal.verify();
  assert.equal(verdict.ok, false);
  if (!verdict.ok) assert.match(verdict.reason, /record 3 is missing/);
});

test('a failed write rejects every pending append and all later ones', async () => {
  const failing: Store = Object.assign(new MemoryStore(), { batch: async () => { throw new Error('disk full'); } });
  const journal = await Journal.open(failing);
  await assert.rejects(journal.append(Uint8Array.of(1)), /disk full/);
  await assert.rejects(journal.append(Uint8Array.of(2)), /restart to recover/);
});

test('snapshot + replay of the rest gives the same state as a full replay', async () => {
  const store = new MemoryStore();
  const journal = await Journal.open(store);
  const prng = createPrng(5);
  for (let n = 1; n <= 300; n++) await journal.append(Uint8Array.of(prng.nextInt(256)));
  // State = running sum of payload bytes; snapshot it at 120.
  let sumAt120 = 0;
  for await (const record of journal.readFrom(1)) if (record.sequence <= 120) sumAt120 += record.payload[0]!;
  let hashAt120: Uint8Array = new Uint8Array();
  for await (const record of journal.readFrom(120)) { hashAt120 = record.hash; break; }
  await writeSnapshot(store, { sequence: 120, journalHash: hashAt120, state: Uint8Array.from(Buffer.from(String(sumAt120))) });
  const replay = async (): Promise<{ sum: number; report: Awaited<ReturnType<typeof recover>> }> => {
    let sum = 0;
    const report = await recover(store, journal, {
      restore: (state) => { sum = state === undefined ? 0 : Number(Buffer.from(state).toString()); },
      apply: (record) => { sum += record.payload[0]!; },
    });
    return { sum, report };
  };
  const fromSnapshot = await replay();
  assert.equal(fromSnapshot.report.snapshotSequence, 120);
  assert.equal(fromSnapshot.report.replayedRecords, 180);
  let full = 0;
  for await (const record of journal.readFrom(1)) full += record.payload[0]!;
  assert.equal(fromSnapshot.sum, full);
  await journal.deleteBefore(121);
  assert.equal((await replay()).sum, full, 'replay still works after compaction');
  await writeSnapshot(store, { sequence: 200, journalHash: hashAt120, state: new Uint8Array(0) });
  await writeSnapshot(store, { sequence: 250, journalHash: hashAt120, state: new Uint8Array(10) });
  await pruneSnapshots(store, 1);
  assert.equal((await readLatestSnapshot(store))?.sequence, 250);
  let manifests = 0;
  for await (const _entry of store.scan('snapshot-manifest/')) manifests += 1;
  assert.equal(manifests, 1);
});

test('kill -9 at random moments: recovery yields a prefix containing every acknowledged append', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'bitwrk-crash-')), 'db');
  const prng = createPrng(Number(process.env['CRASH_SEED'] ?? 2026));
  let acknowledged = 0;
  for (let round = 0; round < 5; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/store/crash-child.ts', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const killAfterAcks = 200 + prng.nextInt(5000);
    let acksThisRound = 0;
    await new Promise<void>((resolve) => {
      lines.on('line', (line) => {
        const [word, number] = line.split(' ');
        if (word !== 'ack') return;
        acknowledged = Math.max(acknowledged, Number(number));
        acksThisRound += 1;
        if (acksThisRound === killAfterAcks) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    const store = new LmdbStore(path);
    const journal = await Journal.open(store);
    const verdict = await journal.verify();
    assert.ok(verdict.ok, JSON.stringify(verdict));
    assert.ok(journal.lastSequence >= acknowledged, `round ${round}: acknowledged ${acknowledged}, recovered ${journal.lastSequence}`);
    for await (const record of journal.readFrom(Math.max(1, journal.lastSequence - 50))) {
      assert.deepEqual(record.payload, payloadFor(record.sequence));
    }
    await store.close();
  }
  assert.ok(acknowledged > 1000);
});
