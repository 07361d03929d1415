// The model-based tests' auditor: the market's one event auditor (sim/auditor.ts: the trade price
// and fee rules, no bid matched twice, an expired bid's hold released, every transaction retired
// by its deadline, the seller paid only against a receipt, each retirement splitting price + fee
// exactly), fed every command's events, plus what only a test that sees the whole state after
// every command can check, without trusting the core's own bookkeeping:
//   - money is conserved: all ledger accounts sum to zero, and what is inside is what came in net;
//   - no balance is negative;
//   - nothing rests or lives past its expiry or deadline, and a buy bid holds money exactly while
//     it rests or its transaction lives;
//   - a receipt counts only if it verifies, checked here independently of the core.
// Each check throws an InvariantViolation naming what broke.
import { Auditor as EventAuditor, InvariantViolation } from '../../../sim/auditor.js';
import type { ArticleSpec } from '../../../src/market/articles.js';
import type { CommandResult, CoreEvent, MarketCommand } from '../../../src/market/commands.js';
import type { VerifyReceipt } from '../../../src/market/core.js';
import type { MarketState } from '../../../src/market/state.js';
import { DEPOSIT_SATS_MIN } from '../../../src/market/limits.js';

function check(condition: boolean, message: string): void {
  if (!condition) throw new InvariantViolation(message);
}

export class Auditor {
  private readonly events: EventAuditor;
  /** Money that entered minus money that left, from accepted commands alone. */
  private insideSats = 0;
  private readonly pendingAmounts = new Map<string, number>();
  /** Buy bids seen, to check their holds against the state. */
  private readonly buyBids = new Set<string>();

  constructor(
    articles: ReadonlyMap<string, ArticleSpec>,
    private readonly verifyReceipt: VerifyReceipt,
  ) {
    this.events = new EventAuditor(articles);
  }

  observe(command: MarketCommand, result: CommandResult, state: MarketState): void {
    if (result.status === 'accepted') this.countMoney(command, result.events);
    // A receipt published with the result counts once it verifies against the buyer's address.
    if (result.status === 'accepted' && command.type === 'txMessage' && command.message === 'encresult') {
      const buyer = this.events.buyerOf(command.txId);
      check(buyer !== undefined, `${command.txId}: a result was published for a transaction that is not open`);
      if (this.verifyReceipt(buyer!, command.fields['encresulthash']!, command.fields['encresulthashsig']!)) this.events.receiptSigned(command.txId);
    }
    for (const event of result.events) if (event.type === 'bidAccepted' && event.side === 'BUY') this.buyBids.add(event.bidId);
    this.events.observe(result.events);
    this.checkState(state);
  }

  private countMoney(command: MarketCommand, events: readonly CoreEvent[]): void {
    // Deposits below the minimum are recorded without money.
    const deposited = command.type === 'depositSeen' && command.amountSats >= DEPOSIT_SATS_MIN;
    if (command.type === 'credit' || deposited) this.insideSats += command.amountSats;
    if (command.type === 'depositDropped' || command.type === 'depositReversed') this.insideSats -= this.pendingAmounts.get(command.depositId)!;
    if (deposited) this.pendingAmounts.set(command.depositId, command.amountSats);
    // A completed withdrawal's money leaves.
    for (const event of events) if (event.type === 'transfer' && event.kind === 'payout_sent') this.insideSats -= event.amountSats;
  }

  private checkState(state: MarketState): void {
    let totalSats = state.feesSats + state.worldSats;
    for (const account of state.accounts) {
      for (const [bucket, sats] of Object.entries(account)) {
        if (typeof sats !== 'number') continue;
        // A reversed deposit may leave available negative, and then the account is frozen.
        const floor = bucket === 'availableSats' && account.frozen ? -Infinity : 0;
        check(Number.isSafeInteger(sats) && sats >= floor, `negative or broken balance: ${account.address}.${bucket} = ${sats}`);
        totalSats += sats;
      }
    }
    check(totalSats === 0, `money is not conserved: all ledger accounts sum to ${totalSats}`);
    check(-state.worldSats === this.insideSats, `money is not conserved: ${-state.worldSats} inside, ${this.insideSats} came in net`);
    for (const tx of state.transactions) check(tx.deadlineMs > state.nowMs, `${tx.txId} alive at ${state.nowMs}, past its deadline ${tx.deadlineMs}`);
    for (const bid of state.bids) check(bid.expiresMs > state.nowMs, `${bid.bidId} rests past its expiry`);
    const holdIds = new Set(state.holds.map((hold) => hold.holdId));
    const resting = new Set(state.bids.map((bid) => bid.bidId));
    const inTransaction = new Set(state.transactions.map((tx) => tx.buyBidId));
    for (const bidId of this.buyBids) {
      const live = resting.has(bidId) || inTransaction.has(bidId);
      check(live === holdIds.has(bidId), `${bidId}: hold ${holdIds.has(bidId)}, live ${live}`);
    }
  }
}
