// What the daemon keeps on disk besides CAFS: its trades (each machine state, saved on every
// step) and its mandates. JSON values in the embedded store: small, plain and readable.
import type { MachineState } from '../machines/flat-machine.js';
import type { BuyState, SellState } from '../machines/trade.js';
import type { Store } from '../store/store.js';
import type { Mandate } from './mandates.js';
import type { WorkerRegistration } from './workers.js';

export type TradeRecord = { readonly side: 'buy'; readonly state: BuyState } | { readonly side: 'sell'; readonly state: SellState };

const TRADE_PREFIX = 'trade/';
const MANDATE_PREFIX = 'mandate/';
const WORKER_PREFIX = 'worker/';
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class DaemonStore {
  constructor(readonly store: Store) {}

  saveTrade(side: 'buy' | 'sell', tradeId: string, state: MachineState<string, unknown>): Promise<void> {
    return this.put(TRADE_PREFIX + tradeId, { side, state });
  }

  /** Every saved trade, oldest first. */
  async loadTrades(): Promise<TradeRecord[]> {
    const records = await this.scan<TradeRecord>(TRADE_PREFIX);
    return records.sort((a, b) => a.state.context.createdMs - b.state.context.createdMs);
  }

  deleteTrade(tradeId: string): Promise<void> {
    return this.store.delete(TRADE_PREFIX + tradeId);
  }

  saveMandate(mandate: Mandate): Promise<void> {
    return this.put(MANDATE_PREFIX + mandate.mandateId, mandate);
  }

  deleteMandate(mandateId: string): Promise<void> {
    return this.store.delete(MANDATE_PREFIX + mandateId);
  }

  loadMandates(): Promise<Mandate[]> {
    return this.scan<Mandate>(MANDATE_PREFIX);
  }

  saveWorker(registration: WorkerRegistration): Promise<void> {
    return this.put(WORKER_PREFIX + registration.id, registration);
  }

  deleteWorker(id: string): Promise<void> {
    return this.store.delete(WORKER_PREFIX + id);
  }

  loadWorkers(): Promise<WorkerRegistration[]> {
    return this.scan<WorkerRegistration>(WORKER_PREFIX);
  }

  private put(key: string, value: unknown): Promise<void> {
    return this.store.put(key, utf8.encode(JSON.stringify(value)));
  }

  /** The records under `prefix`, as this daemon wrote them (the store is its own, not input). */
  private async scan<T>(prefix: string): Promise<T[]> {
    const values: T[] = [];
    for await (const [, value] of this.store.scan(prefix)) values.push(JSON.parse(fromUtf8.decode(value)) as T);
    return values;
  }
}
