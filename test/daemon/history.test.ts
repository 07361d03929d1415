// Goal: a daemon's memory and store of ended trades stay bounded, and pruning never drops a live
// trade. Method: the trade runtime's forgetOld over live and ended trades restored from a memory
// store; the newest TRADE_HISTORY_MAX ended ones and every live one must remain, in both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock.js';
import { DaemonStore, type TradeRecord } from '../../src/daemon/daemon-store.js';
import { TradeRuntime } from '../../src/daemon/trade-runtime.js';
import { TRADE_HISTORY_MAX } from '../../src/daemon/trading.js';
import { buyTradeMachine } from '../../src/machines/trade.js';
import { MemoryStore } from '../../src/store/memory.js';

test('forgetOld keeps every live trade and the newest ended ones, in memory and on disk', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.boolean(), { maxLength: TRADE_HISTORY_MAX + 60 }), async (endedFlags) => {
      const store = new DaemonStore(new MemoryStore());
      const records: TradeRecord[] = [];
      for (const [index, isFinal] of endedFlags.entries()) {
        const tradeId = `b-${index + 1}`;
        const initial = buyTradeMachine.compiled.initial({ tradeId, article: 'a', workFileKey: 'w', workSize: 1, attemptsMax: 3, nowMs: index, clearanceWaitMs: 0 });
        const state = isFinal ? { value: 'failed' as const, context: initial.context } : initial;
        records.push({ side: 'buy', state });
        await store.saveTrade('buy', tradeId, state);
      }
      const runtime = new TradeRuntime({ clock: new VirtualClock(0), store, log: () => {}, stopping: new AbortController().signal });
      runtime.restore(records);
      await runtime.forgetOld('buy', TRADE_HISTORY_MAX);
      const actors = new Map(runtime.trades().map((trade) => [trade.tradeId, trade]));
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
