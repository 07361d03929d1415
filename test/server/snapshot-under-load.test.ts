// Goal: the exchange takes snapshots while its journal is busy (under load it is never idle, and
// restart time would grow with every record since the last quiet moment), and a snapshot taken
// mid-load holds exactly the state of the records it names: a restart from it plus the journal
// after it rebuilds the same state. Method: an Exchange on a memory store; hundreds of credits in
// flight when the snapshot is asked for; more afterwards; then a new Exchange on the same store
// (a restart without a final snapshot, as after kill -9) must start from that snapshot and hash
// as the first did.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../../src/clock.js';
import { articleWithDefaults } from '../../src/market/articles.js';
import { Exchange } from '../../src/server/exchange.js';
import { Journal } from '../../src/store/journal.js';
import { MemoryStore } from '../../src/store/memory.js';
import { readLatestSnapshot } from '../../src/store/snapshots.js';
import { newIdentity } from '../support/exchange.js';

const START_MS = Date.UTC(2026, 0, 1);

async function open(store: MemoryStore, clock: VirtualClock, adminAddress: string): Promise<Exchange> {
  return Exchange.open({ clock, store, journal: await Journal.open(store), exchangeId: 'bitwrk-test', network: 'testnet', adminAddress, initialArticles: [articleWithDefaults('test/hash')] });
}

test('a snapshot taken while appends are in flight restores exactly the records it names', async () => {
  const store = new MemoryStore();
  const clock = new VirtualClock(START_MS);
  const admin = newIdentity();
  const participants = Array.from({ length: 20 }, () => newIdentity().address);
  const first = await open(store, clock, admin.address);
  const credit = (index: number) => first.execute(undefined, (nowMs) => ({ type: 'credit', nowMs, participant: participants[index % participants.length]!, amountSats: 1000 + index }));
  const inFlight = Array.from({ length: 500 }, (_, index) => credit(index));
  const snapshotted = first.writeSnapshot(); // the journal is busy: 500 appends not yet durable
  await Promise.all(inFlight);
  const sequence = await snapshotted;
  assert.ok(sequence >= 500, `the snapshot names the records appended when it was asked for (${sequence})`);
  assert.equal((await readLatestSnapshot(store))?.sequence, sequence);
  await Promise.all(Array.from({ length: 100 }, (_, index) => credit(500 + index)));
  const hash = first.core.stateHash();
  await first.close(); // no final snapshot: the restart replays the 100 after it

  const second = await open(store, clock, admin.address);
  assert.equal(second.core.stateHash(), hash);
  const total = participants.reduce((sum, address) => sum + (second.core.account(address)?.availableSats ?? 0), 0);
  assert.equal(total, Array.from({ length: 600 }, (_, index) => 1000 + index).reduce((a, b) => a + b, 0));
  await second.close();
});
