// The daemon's trades, hosted as actors (src/actors/host.ts) of the two trade kinds. The host steps
// the pure trade logic and keeps the phases' deadlines; this runtime, after every committed step,
// saves the state to the daemon's store and only then starts the effects the step emitted, each
// with a signal that aborts when the trade leaves the phase the effect was for (or the daemon
// stops). An executor reports back with facts through `send`. After a restart the saved trades
// are restored into the host (deadlines re-armed) and each live one's phase effects run again.
import { ActorHost } from '../actors/host.js';
import { buyTradeKind, sellTradeKind } from '../actors/trade-kinds.js';
import type { Clock } from '../clock.js';
import type { MachineState } from '../machines/flat-machine.js';
import { buyEntryEffects, sellEntryEffects, type BuyEffect, type BuyFact, type SellEffect, type SellFact } from '../machines/trade-logic.js';
import { buyPhase, sellPhase } from '../machines/trade-phases.js';
import type { BuyInput, BuyState, SellInput, SellState } from '../machines/trade.js';
import type { DaemonStore, TradeRecord } from './daemon-store.js';

export type Side = 'buy' | 'sell';
type StateOf<S extends Side> = S extends 'buy' ? BuyState : SellState;
type FactOf<S extends Side> = S extends 'buy' ? BuyFact : SellFact;
type EffectOf<S extends Side> = S extends 'buy' ? BuyEffect : SellEffect;
type InputOf<S extends Side> = S extends 'buy' ? BuyInput : SellInput;

/** Carries out one effect of a trade; ends by sending facts, or throws (the side turns that into a fact). */
export interface Executor<S extends Side> {
  execute(tradeId: string, effect: EffectOf<S>, phase: AbortSignal): Promise<void>;
  /** The fact an executor's error stands for (a failure of the transaction the effect was about, or of the trade). */
  failure(tradeId: string, effect: EffectOf<S>, error: unknown): FactOf<S> | undefined;
}

/** One trade as the local API and the executors see it: its id, side and current state. */
export class TradeHandle<S extends Side = Side> {
  constructor(
    private readonly runtime: TradeRuntime,
    readonly side: S,
    readonly tradeId: string,
  ) {}

  get state(): StateOf<S> {
    return this.runtime.stateOf(this.tradeId) as StateOf<S>;
  }

  get isFinal(): boolean {
    return this.runtime.isFinal(this.tradeId);
  }

  /** Resolves once `predicate` holds for the saved state (checked now and after every saved step). */
  until(predicate: (state: StateOf<S>) => boolean, signal?: AbortSignal): Promise<StateOf<S>> {
    return this.runtime.until(this.tradeId, predicate as (state: MachineState<string, unknown>) => boolean, signal) as Promise<StateOf<S>>;
  }

  finished(): Promise<StateOf<S>> {
    return this.until(() => this.isFinal);
  }
}

/** What a phase is: a state value and, for a buy, its attempt (a retry enters `bidding` anew). */
function phaseKey(state: MachineState<string, object>): string {
  return `${state.value}/${'attempts' in state.context ? String(state.context.attempts) : ''}`;
}

export class TradeRuntime {
  readonly host: ActorHost;
  private readonly handles = new Map<string, TradeHandle>();
  private readonly executors: { buy?: Executor<'buy'>; sell?: Executor<'sell'> } = {};
  /** Per trade: the phase its running effects are for, and the signal that ends them. */
  private readonly phases = new Map<string, { readonly key: string; readonly controller: AbortController }>();
  /** Per trade: saves and effect starts in step order. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly options: {
      readonly clock: Clock;
      readonly store: DaemonStore;
      readonly log: (line: string) => void;
      /** Aborted when the daemon stops: effects end their waits, facts are no longer taken, trades stay as saved. */
      readonly stopping: AbortSignal;
    },
  ) {
    this.host = new ActorHost({
      clock: options.clock,
      committed: (id, kind, state, emitted) => this.committed(id, kind as Side, state as MachineState<string, never>, emitted as readonly EffectOf<Side>[]),
      inspect: (record) => {
        if (record.type === 'failure') options.log(`trade ${record.id}: ${record.phase} failed on ${record.event.type}: ${String(record.error)}`);
      },
    });
    this.host.register(buyTradeKind);
    this.host.register(sellTradeKind);
  }

  serve<S extends Side>(side: S, executor: Executor<S>): void {
    (this.executors as Record<Side, Executor<S>>)[side] = executor;
  }

  /** Takes up saved trades (both sides at once, oldest first): ended ones as history, the rest carry on. */
  restore(records: readonly TradeRecord[]): void {
    const actors = records.map((record) => {
      // A record read back from disk is checked like any state: each phase has what it guarantees.
      if (record.side === 'buy') buyPhase(record.state);
      else sellPhase(record.state);
      return [record.state.context.tradeId, record.side, record.state] as const;
    });
    this.host.restore({ version: 1, actors });
    for (const record of records) {
      this.handles.set(record.state.context.tradeId, new TradeHandle(this, record.side, record.state.context.tradeId));
      if (this.isFinal(record.state.context.tradeId)) continue;
      const effects = record.side === 'buy' ? buyEntryEffects(record.state) : sellEntryEffects(record.state);
      this.phases.set(record.state.context.tradeId, { key: phaseKey(record.state), controller: new AbortController() });
      this.startEffects(record.side, record.state.context.tradeId, effects);
    }
  }

  /** Starts a trade: saved first, then its first effects run. */
  spawn<S extends Side>(side: S, input: InputOf<S>): TradeHandle<S> {
    const handle = new TradeHandle(this, side, input.tradeId);
    this.handles.set(input.tradeId, handle);
    this.host.spawn(side, input.tradeId, input);
    return handle;
  }

  /** Delivers a fact; false when it changed nothing (ignored, stale, or the trade has ended) or the daemon is stopping. */
  send<S extends Side>(tradeId: string, fact: FactOf<S>): boolean {
    if (this.options.stopping.aborted) return false;
    const before = this.host.get(tradeId);
    const result = this.host.send(tradeId, fact);
    return result.ok && this.host.get(tradeId) !== before;
  }

  handle(tradeId: string): TradeHandle | undefined {
    return this.handles.get(tradeId);
  }

  /** Every trade of one side (or both), in the order they were started. */
  trades(side?: Side): TradeHandle[] {
    return [...this.handles.values()].filter((handle) => side === undefined || handle.side === side);
  }

  stateOf(tradeId: string): MachineState<string, unknown> {
    const state = this.host.get(tradeId);
    if (state === undefined) throw new Error(`no trade ${tradeId}`);
    return state as MachineState<string, unknown>;
  }

  isFinal(tradeId: string): boolean {
    const kind = this.host.kindOf(tradeId);
    return kind === undefined || kind.isFinal(this.host.get(tradeId));
  }

  until(tradeId: string, predicate: (state: MachineState<string, unknown>) => boolean, signal?: AbortSignal): Promise<MachineState<string, unknown>> {
    return new Promise((resolve, reject) => {
      let watchers = this.watchers.get(tradeId);
      if (watchers === undefined) this.watchers.set(tradeId, (watchers = new Set()));
      const set = watchers;
      const check = (): void => {
        const state = this.host.get(tradeId) as MachineState<string, unknown> | undefined;
        if (state === undefined) return aborted(`trade ${tradeId} was forgotten`);
        if (!predicate(state)) return;
        set.delete(check);
        signal?.removeEventListener('abort', onAbort);
        resolve(state);
      };
      const aborted = (why: string): void => {
        set.delete(check);
        signal?.removeEventListener('abort', onAbort);
        reject(new Error(why));
      };
      const onAbort = (): void => aborted(String(signal?.reason ?? 'aborted'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort);
      set.add(check);
      check();
    });
  }

  /** Forgets the oldest ended trades of a side beyond `keep` (in memory and on disk). */
  async forgetOld(side: Side, keep: number): Promise<void> {
    const ended = this.trades(side).filter((handle) => handle.isFinal);
    for (const handle of ended.slice(0, Math.max(0, ended.length - keep))) {
      this.host.stop(handle.tradeId);
      this.handles.delete(handle.tradeId);
      this.phases.delete(handle.tradeId);
      this.queues.delete(handle.tradeId);
      for (const watcher of [...(this.watchers.get(handle.tradeId) ?? [])]) watcher();
      this.watchers.delete(handle.tradeId);
      await this.options.store.deleteTrade(handle.tradeId);
    }
  }

  /** Resolves when every running effect has returned and every step is saved (after the stop signal). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.queues.size > 0) await Promise.allSettled([...this.running, ...this.queues.values()]);
    this.host.dispose();
  }

  private committed(tradeId: string, side: Side, state: MachineState<string, never>, effects: readonly EffectOf<Side>[]): void {
    const key = phaseKey(state);
    const phase = this.phases.get(tradeId);
    if (phase === undefined || phase.key !== key) {
      phase?.controller.abort('the trade moved on');
      this.phases.set(tradeId, { key, controller: new AbortController() });
    }
    const queue = (this.queues.get(tradeId) ?? Promise.resolve()).then(async () => {
      await this.options.store.saveTrade(side, tradeId, state);
      for (const watcher of [...(this.watchers.get(tradeId) ?? [])]) watcher();
      this.startEffects(side, tradeId, effects);
    });
    const settled = queue.catch((error: unknown) => this.options.log(`trade ${tradeId}: could not be saved: ${String(error)}`));
    this.queues.set(tradeId, settled);
    void settled.then(() => {
      if (this.queues.get(tradeId) === settled) this.queues.delete(tradeId);
    });
  }

  private startEffects(side: Side, tradeId: string, effects: readonly EffectOf<Side>[]): void {
    const executor = this.executors[side] as Executor<Side> | undefined;
    if (executor === undefined || effects.length === 0) return;
    const signal = AbortSignal.any([this.phases.get(tradeId)?.controller.signal ?? new AbortController().signal, this.options.stopping]);
    for (const effect of effects) {
      const run = executor.execute(tradeId, effect, signal).catch((error: unknown) => {
        if (this.options.stopping.aborted) return;
        const fact = executor.failure(tradeId, effect, error);
        if (fact !== undefined) this.send(tradeId, fact);
      });
      const tracked = run.finally(() => this.running.delete(tracked));
      this.running.add(tracked);
    }
  }
}
