// Child process of the crash test: appends records to a journal on lmdb as fast as group commit
// allows and prints "ack <seq>" for every append that resolved (i.e. is durable). The parent
// kills it with SIGKILL at a random moment. Payloads are derived from the sequence number, so the
// parent can check every recovered record's content.
import { LmdbStore } from '../../src/store/lmdb.js';
import { Journal } from '../../src/store/journal.js';

export function payloadFor(sequence: number): Uint8Array {
  const length = 16 + (sequence % 200);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (sequence * 31 + i) & 0xff;
  return bytes;
}

if (process.argv[2] !== undefined) {
  const store = new LmdbStore(process.argv[2]);
  const journal = await Journal.open(store);
  process.stdout.write(`start ${journal.lastSequence}\n`);
  for (;;) {
    const appends: Promise<number>[] = [];
    for (let i = 0; i < 200; i++) appends.push(journal.append(payloadFor(journal.lastSequence + 1)));
    for (const append of appends) void append.then((sequence) => process.stdout.write(`ack ${sequence}\n`));
    await Promise.all(appends);
  }
}
