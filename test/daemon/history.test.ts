// Goal: a daemon's memory and store of ended trades stay bounded, and pruning never drops a live
// trade. Method: forgetOldTrades over a map of live and ended stand-in trades backed by a memory
// store; the newest TRADE_HISTORY_MAX ended ones and every live one must remain, in both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DaemonStore } from '../../src/daemon/daemon-store.js';
import { forgetOldTrades, TRADE_HISTORY_MAX } from '../../src/daemon/trading.js';
import { MemoryStore } from '../../src/store/memory.js';

test('forgetOldTrades keeps every live trade and the newest ended ones, in memory and on disk', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.boolean(), { maxLength: TRADE_HISTORY_MAX + 60 }), async (endedFlags) => {
      const store = new DaemonStore(new MemoryStore());
      const actors = new Map<string, { isFinal: boolean }>();
      for (const [index, isFinal] of endedFlags.entries()) {
        const tradeId = `b-${index + 1}`;
        actors.set(tradeId, { isFinal });
        await store.saveTrade('buy', tradeId, { value: isFinal ? 'done' : 'bidding', context: { tradeId, createdMs: index } });
      }
      await forgetOldTrades(actors, store);
      const endedIds = endedFlags.flatMap((isFinal, index) => (isFinal ? [`b-${index + 1}`] : []));
      const liveIds = endedFlags.flatMap((isFinal, index) => (isFinal ? [] : [`b-${index + 1}`]));
      const expected = new Set([...liveIds, ...endedIds.slice(Math.max(0, endedIds.length - TRADE_HISTORY_MAX))]);
      assert.deepEqual(new Set(actors.keys()), expected);
      const saved = new Set((await store.loadTrades()).map((record) => record.state.context.tradeId));
      assert.deepEqual(saved, expected);
    }),
    { numRuns: 40 },
  );
});
