// Goal: the daemon's file collection never deletes a file an open trade names, one of the newest
// completed results, one a check holds, or a file no trade names yet within its grace period;
// and once over budget it deletes the rest. Method: fast-check over trade runtimes restored with
// open, failed and completed purchases naming random files of a memory store, a budget of 0
// (everything collectible goes) and an ample one (nothing goes), on a virtual clock.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock.js';
import { MemoryChunkStore } from '../../src/cafs/memory-store.js';
import { importFile } from '../../src/cafs/files.js';
import { DaemonStore, type TradeRecord } from '../../src/daemon/daemon-store.js';
import { FileRetention, UNNAMED_GRACE_MS } from '../../src/daemon/file-retention.js';
import { TradeRuntime } from '../../src/daemon/trade-runtime.js';
import { buyTradeMachine } from '../../src/machines/trade.js';
import { MemoryStore } from '../../src/store/memory.js';

const FILES = 8;
const KEEP_RESULTS = 2;

const scenario = fc.record({
  trades: fc.array(fc.record({ status: fc.constantFrom('open', 'failed', 'done'), work: fc.nat(FILES - 1), result: fc.nat(FILES - 1) }), { maxLength: 10 }),
  heldByCheck: fc.array(fc.nat(FILES - 1), { maxLength: 2 }),
  /** Files first seen before the last collection, i.e. past their grace when it runs. */
  oldUnnamed: fc.array(fc.nat(FILES - 1), { maxLength: 4 }),
  ample: fc.boolean(),
});

test('collection keeps what open trades, the newest results, checks and the grace period need; the rest goes over budget', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ trades, heldByCheck, oldUnnamed, ample }) => {
      const cafs = new MemoryChunkStore(1 << 30);
      const keys: string[] = [];
      for (let index = 0; index < FILES; index++) keys.push((await importFile(cafs, [Buffer.from(`file ${index} `.repeat(50 + index))])).fileKey);
      const clock = new VirtualClock(1_000_000);
      const store = new DaemonStore(new MemoryStore());
      const records: TradeRecord[] = trades.map((trade, index) => {
        const initial = buyTradeMachine.compiled.initial({ tradeId: `b-${index}`, article: 'a', workFileKey: keys[trade.work]!, workSize: 1, attemptsMax: 3, nowMs: index, clearanceWaitMs: 0 });
        if (trade.status === 'open') return { side: 'buy', state: initial };
        if (trade.status === 'failed') return { side: 'buy', state: { value: 'failed', context: initial.context } };
        return { side: 'buy', state: { value: 'done', context: { ...initial.context, clearedBy: 'local:w', resultFileKey: keys[trade.result]! } } };
      });
      const runtime = new TradeRuntime({ clock, store, log: () => {}, stopping: new AbortController().signal });
      runtime.restore(records);
      const retention = new FileRetention(
        { cafs, clock, trades: () => runtime.trades(), inUse: () => heldByCheck.map((index) => keys[index]!), log: () => {} },
        { budgetBytes: ample ? 1 << 30 : 0, keepResults: KEEP_RESULTS },
      );
      // A first look starts every unnamed file's grace; files seen then are past it a grace later.
      const named = new Set(records.flatMap((record) => [record.state.context.workFileKey, (record.state.context as { resultFileKey?: string | null }).resultFileKey ?? '']));
      const freshlyAdded = keys.filter((key, index) => !named.has(key) && !oldUnnamed.includes(index));
      for (const key of freshlyAdded) await cafs.deleteFile(key);
      await retention.collect();
      clock.advanceBy(UNNAMED_GRACE_MS);
      for (const [index, key] of keys.entries()) if (freshlyAdded.includes(key)) await importFile(cafs, [Buffer.from(`file ${index} `.repeat(50 + index))]);
      await retention.collect();

      const needed = new Set<string>(heldByCheck.map((index) => keys[index]!));
      for (const trade of trades) if (trade.status === 'open') needed.add(keys[trade.work]!);
      const done = trades.flatMap((trade, index) => (trade.status === 'done' ? [{ index, key: keys[trade.result]! }] : []));
      for (const result of done.slice(-KEEP_RESULTS)) needed.add(result.key);
      for (const key of freshlyAdded) needed.add(key);
      const present = new Set(await cafs.listFiles());
      for (const key of needed) assert.ok(present.has(key), `file ${keys.indexOf(key)} was needed and deleted`);
      if (ample) assert.equal(present.size, FILES, 'a file was deleted under an ample budget');
      else assert.deepEqual([...present].filter((key) => !needed.has(key)), [], 'over budget, a collectible file stayed');
    }),
    { seed: 21, numRuns: 150},
  );
});
