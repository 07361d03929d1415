// The daemon's trades as actor kinds: the pure trade logic (src/machines/trade-logic.ts) in the
// host's terms. Each effect the logic decides is emitted; the runtime that hosts the trades (the
// daemon's, src/daemon/trade-runtime.ts; the simulator's, sim/agents.ts) persists the state and
// then carries the effects out. Deadlines are the phases' `phaseEndsMs`, re-armed by the host
// after every step and after a restore.
import { buyDeadlineMs, sellDeadlineMs, startBuy, startSell, stepBuy, stepSell, type BuyEffect, type BuyFact, type SellEffect, type SellFact, type TradeStep } from '../machines/trade-logic.js';
import { buyTradeMachine, sellTradeMachine, type BuyInput, type BuyState, type SellInput, type SellState } from '../machines/trade.js';
import type { ActorKind, PersistedState, Step } from './kind.js';

function hosted<S, F extends { readonly type: string }>(step: TradeStep<S, F>): Step<S> {
  return { state: step.state, effects: step.effects.map((effect) => ({ type: 'emit' as const, event: effect })) };
}

export const buyTradeKind: ActorKind<BuyState, BuyFact, BuyInput> = {
  name: 'buy',
  initial: (input) => hosted<BuyState, BuyEffect>(startBuy(input)),
  step: (state, fact) => hosted<BuyState, BuyEffect>(stepBuy(state, fact)),
  persist: (state) => state,
  restore: (persisted: PersistedState) => persisted as BuyState, // read back by the runtime, which checks each phase (trade-phases.ts)
  deadlineMs: buyDeadlineMs,
  deadlineEvent: (nowMs) => ({ type: 'TIMEOUT', nowMs }),
  isFinal: (state) => buyTradeMachine.compiled.isFinal(state.value),
};

export const sellTradeKind: ActorKind<SellState, SellFact, SellInput> = {
  name: 'sell',
  initial: (input) => hosted<SellState, SellEffect>(startSell(input)),
  step: (state, fact) => hosted<SellState, SellEffect>(stepSell(state, fact)),
  persist: (state) => state,
  restore: (persisted: PersistedState) => persisted as SellState,
  deadlineMs: sellDeadlineMs,
  deadlineEvent: (nowMs) => ({ type: 'TIMEOUT', nowMs }),
  isFinal: (state) => sellTradeMachine.compiled.isFinal(state.value),
};
