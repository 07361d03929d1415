// The exchange's Prometheus metrics: connections, commands by type and outcome, rejections by
// code, signature verification time, journal lag, open bids and transactions, memory.
import type { Journal } from '../store/journal.js';
import type { ProtocolError } from '../transport/errors.js';
import type { Exchange, ExchangeOptions } from './exchange.js';
import type { PayoutProcessor } from '../chain/payout-processor.js';
import { Counter, Gauge, Histogram, Registry } from './prometheus.js';

export interface ExchangeMetrics {
  readonly registry: Registry;
  /** The hook to pass as ExchangeOptions.observe. */
  readonly observe: NonNullable<ExchangeOptions['observe']>;
  /** The hook to pass as the peers' onProtocolError: every error answer, by stable code. */
  readonly rejected: (error: ProtocolError) => void;
  /** Connects the gauges that read the running exchange. */
  attach(exchange: Exchange, journal: Journal, payouts?: Pick<PayoutProcessor, 'status'>): void;
}

export function createExchangeMetrics(): ExchangeMetrics {
  const registry = new Registry();
  const commands = registry.add(new Counter('bitwrk_commands_total', 'Commands by type and outcome (accepted or rejected).'));
  const rejections = registry.add(new Counter('bitwrk_rejections_total', 'Error answers (rejected commands, bad frames) by stable error code.'));
  const verify = registry.add(new Histogram('bitwrk_verify_seconds', 'Time to verify one command signature (including batching on the pool).', [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1]));
  let exchange: Exchange | undefined;
  let journal: Journal | undefined;
  registry.add(new Gauge('bitwrk_connections', 'Open WebSocket connections.', () => exchange?.peers.size ?? 0));
  registry.add(new Gauge('bitwrk_journal_lag_records', 'Journal records appended but not yet durable.', () => (journal === undefined ? 0 : journal.lastSequence - journal.lastDurableSequence)));
  registry.add(new Gauge('bitwrk_journal_sequence', 'Sequence number of the last journal record.', () => journal?.lastSequence ?? 0));
  registry.add(new Gauge('bitwrk_open_bids', 'Bids resting in the books.', () => exchange?.openBidCount ?? 0));
  registry.add(new Gauge('bitwrk_active_transactions', 'Transactions not yet retired.', () => exchange?.activeTransactionCount ?? 0));
  let payouts: Pick<PayoutProcessor, 'status'> | undefined;
  registry.add(new Gauge('bitwrk_payouts_halted', '1 while the reconciliation halts payouts (the wallet does not cover what is owed).', () => (payouts?.status().halted === true ? 1 : 0)));
  registry.add(new Gauge('bitwrk_wallet_sats', "The wallet's confirmed coins at the last reconciliation (with its batches' coins in the mempool).", () => payouts?.status().reconciliation?.walletSats ?? 0));
  registry.add(new Gauge('bitwrk_wallet_owed_sats', 'What participants were owed at the last reconciliation.', () => payouts?.status().reconciliation?.owedSats ?? 0));
  registry.add(new Gauge('process_resident_memory_bytes', 'Resident memory of the process.', () => process.memoryUsage.rss()));
  return {
    registry,
    observe(outcome) {
      if (outcome.verifySeconds !== undefined) return verify.observe(outcome.verifySeconds);
      commands.inc({ type: outcome.type, outcome: outcome.rejection === undefined ? 'accepted' : 'rejected' });
    },
    rejected(error) {
      rejections.inc({ code: String(error.code), name: error.errorName });
    },
    attach(running, runningJournal, runningPayouts) {
      exchange = running;
      journal = runningJournal;
      payouts = runningPayouts;
    },
  };
}
