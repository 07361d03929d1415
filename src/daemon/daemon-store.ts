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
    return this.store.put(TRADE_PREFIX + tradeId, utf8.encode(JSON.stringify({ side, state })));
  }

  /** Every saved trade, oldest first. */
  async loadTrades(): Promise<TradeRecord[]> {
    const records: TradeRecord[] = [];
    for await (const [, value] of this.store.scan(TRADE_PREFIX)) records.push(JSON.parse(fromUtf8.decode(value)) as TradeRecord);
    return records.sort((a, b) => a.state.context.createdMs - b.state.context.createdMs);
  }

  deleteTrade(tradeId: string): Promise<void> {
    return this.store.delete(TRADE_PREFIX + tradeId);
  }

  saveMandate(mandate: Mandate): Promise<void> {
    return this.store.put(MANDATE_PREFIX + mandate.mandateId, utf8.encode(JSON.stringify(mandate)));
  }

  deleteMandate(mandateId: string): Promise<void> {
    return this.store.delete(MANDATE_PREFIX + mandateId);
  }

  async loadMandates(): Promise<Mandate[]> {
    const mandates: Mandate[] = [];
    for await (const [, value] of this.store.scan(MANDATE_PREFIX)) mandates.push(JSON.parse(fromUtf8.decode(value)) as Mandate);
    return mandates;
  }

  saveWorker(registration: WorkerRegistration): Promise<void> {
    return this.store.put(WORKER_PREFIX + registration.id, utf8.encode(JSON.stringify(registration)));
  }

  deleteWorker(id: string): Promise<void> {
    return this.store.delete(WORKER_PREFIX + id);
  }

  async loadWorkers(): Promise<WorkerRegistration[]> {
    const workers: WorkerRegistration[] = [];
    for await (const [, value] of this.store.scan(WORKER_PREFIX)) workers.push(JSON.parse(fromUtf8.decode(value)) as WorkerRegistration);
    return workers;
  }
}
