// A trade hosted as an actor: the machine's state, stepped by events, saved before anyone hears of
// the new state (so what a driver acts on is always on disk first), and watchers woken on every
// change. The machine is one of src/machines/trade.ts, stepped with its compiled stepper.
import type { MachineState, Stepper, EventObject } from '../machines/flat-machine.js';

export class TradeActor<V extends string, C, E extends EventObject> {
  private current: MachineState<V, C>;
  private readonly watchers = new Set<() => void>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly side: 'buy' | 'sell',
    readonly tradeId: string,
    state: MachineState<V, C>,
    private readonly stepper: Stepper<V, C, E, unknown>,
    private readonly save: (side: 'buy' | 'sell', tradeId: string, state: MachineState<V, C>) => Promise<void>,
  ) {
    this.current = state;
  }

  get state(): MachineState<V, C> {
    return this.current;
  }

  get isFinal(): boolean {
    return this.stepper.isFinal(this.current.value);
  }

  /** Steps the machine and persists; resolves with whether the event was taken. Serialised per actor. */
  send(event: E): Promise<boolean> {
    const result = this.queue.then(async () => {
      const next = this.stepper.step(this.current, event);
      if (next === this.current) return false;
      await this.save(this.side, this.tradeId, next);
      this.current = next;
      for (const watcher of [...this.watchers]) watcher();
      return true;
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Resolves once `predicate` holds for the state (checked now and after every step). */
  until(predicate: (state: MachineState<V, C>) => boolean, signal?: AbortSignal): Promise<MachineState<V, C>> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate(this.current)) return;
        this.watchers.delete(check);
        signal?.removeEventListener('abort', aborted);
        resolve(this.current);
      };
      const aborted = (): void => {
        this.watchers.delete(check);
        reject(new Error(String(signal?.reason ?? 'aborted')));
      };
      if (signal?.aborted) return aborted();
      signal?.addEventListener('abort', aborted);
      this.watchers.add(check);
      check();
    });
  }

  /** Resolves when the trade reaches a final state. */
  finished(): Promise<MachineState<V, C>> {
    return this.until(() => this.isFinal);
  }
}
