// The payout processor's view of the exchange: live withdrawals and batches, what participants
// are owed, and a way to journal its decisions (trusted commands: no signature).
import type { PayoutLedgerPort } from '../chain/payout-processor.js';
import type { Exchange } from './exchange.js';

export function exchangePayoutPort(exchange: Exchange): PayoutLedgerPort {
  const funds = () => exchange.core.funds;
  return {
    payoutBatches: () => funds().payoutBatches(),
    withdrawal: (id) => funds().withdrawal(id),
    requestedWithdrawals: (limit) => funds().requestedWithdrawals(limit),
    approvedWithdrawals: (limit) => funds().approvedWithdrawals(limit),
    nextPayoutBatch: () => funds().nextPayoutBatch(),
    coinInBatch: (txid, vout) => funds().coinInBatch(txid, vout),
    nextDepositIndex: () => funds().nextDepositIndex(),
    owedSats: () => funds().owedSats(),
    execute: (build) => exchange.execute(undefined, build),
  };
}
