// The market's auditor (STYLE.md example 7), the one both the simulator and the market's
// model-based tests run: a deliberately simple, separate model that follows every event the
// exchange's core emits (once each, in order) and what the buyers signed, and checks the market's
// promises independently of the core's own checker:
//   - a trade pairs a buy with a sell at or below it, at the earlier bid's price, with the fee
//     rounded up (where the articles are known), and no bid is matched twice;
//   - an expired buy bid releases all it held;
//   - every transaction is retired by its deadline;
//   - a seller is paid only against the buyer's receipt (or by the arbiter), never more than the price;
//   - a retired transaction splits exactly price + fee between seller, fees and refund;
//   - money is conserved: what was credited (by the admin, or deposits once credited, less
//     reversed ones, less withdrawals paid out) equals the accounts' balances plus the fees;
//   - every completed withdrawal was paid on chain exactly once, its amount to its destination in
//     the transaction it names; and the wallet's coins cover what participants are owed.
// A broken promise throws InvariantViolation with what was seen. The model-based tests add checks
// of the whole state after every command (test/market/support/auditor.ts).
import type { ArticleSpec } from '../src/market/articles.js';
import type { CoreEvent } from '../src/market/commands.js';

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

interface OpenTx {
  readonly buyer: string;
  readonly priceSats: number;
  readonly feeSats: number;
  deadlineMs: number;
}

interface OpenBid {
  readonly side: 'BUY' | 'SELL';
  readonly priceSats: number;
  readonly holdSats: number;
  readonly article: string;
  /** Acceptance order: the earlier of two bids sets a trade's price. */
  readonly order: number;
}

export class Auditor {
  /** Bids still open. */
  private readonly bids = new Map<string, OpenBid>();
  private readonly matchedBids = new Set<string>();
  private readonly transactions = new Map<string, OpenTx>();
  /** Transactions whose buyer signed a receipt (told by the buyer agents). */
  private readonly receipts = new Set<string>();
  private order = 0;
  creditedSats = 0;
  /** Completed withdrawals: where they were paid, how much, by which transaction. */
  private readonly completed: { readonly withdrawalId: string; readonly destination: string; readonly amountSats: number; readonly txid: string }[] = [];
  eventsSeen = 0;
  checks = 0;

  /** The articles' fee rules, when known: each trade's fee is checked against them. */
  constructor(private readonly articles?: ReadonlyMap<string, ArticleSpec>) {}

  /** The buyer signed a receipt for the transaction's result (told by whoever checked it). */
  receiptSigned(txId: string): void {
    this.receipts.add(txId);
  }

  /** The buyer of an open transaction. */
  buyerOf(txId: string): string | undefined {
    return this.transactions.get(txId)?.buyer;
  }

  /** Follows one command's events (a batch: an expiry and its release come together). */
  observe(events: readonly CoreEvent[]): void {
    let releases: Map<string, number> | undefined;
    for (const event of events) {
      this.eventsSeen++;
      switch (event.type) {
        case 'bidAccepted':
          this.bids.set(event.bidId, { side: event.side, priceSats: event.priceSats, holdSats: event.holdSats, article: event.article, order: this.order++ });
          break;
        case 'bidExpired':
          this.expired(event.bidId, (releases ??= releasesOf(events)));
          break;
        case 'bidWithdrawn':
          this.bids.delete(event.bidId);
          break;
        case 'trade':
          this.trade(event);
          break;
        case 'txMessageAccepted': {
          const tx = this.transactions.get(event.txId);
          if (tx === undefined) throw new InvariantViolation(`${event.txId}: a message was accepted for a transaction that is not open`);
          tx.deadlineMs = event.deadlineMs;
          break;
        }
        case 'txRetired':
          this.retired(event);
          break;
        case 'transfer':
          // Money in: credits, and deposits once credited (spendable); a reversed deposit takes it back out.
          if (event.kind === 'credit' || event.kind === 'deposit_confirmed') this.creditedSats += event.amountSats;
          if (event.kind === 'deposit_reversed' || event.kind === 'payout_sent') this.creditedSats -= event.amountSats;
          break;
        case 'withdrawal':
          if (event.state === 'completed' && !event.repeated) {
            if (event.txid === null) throw new InvariantViolation(`${event.withdrawalId} completed without a transaction`);
            this.completed.push({ withdrawalId: event.withdrawalId, destination: event.destination, amountSats: event.amountSats, txid: event.txid });
          }
          break;
        default:
          break;
      }
    }
  }

  private trade(event: Extract<CoreEvent, { type: 'trade' }>): void {
    this.checks++;
    for (const bidId of [event.buyBidId, event.sellBidId]) {
      if (this.matchedBids.has(bidId)) throw new InvariantViolation(`${bidId} matched twice (again in ${event.txId})`);
      if (!this.bids.has(bidId)) throw new InvariantViolation(`${event.txId}: bid ${bidId} was not open`);
      this.matchedBids.add(bidId);
    }
    const buy = this.bids.get(event.buyBidId)!;
    const sell = this.bids.get(event.sellBidId)!;
    if (buy.side !== 'BUY' || sell.side !== 'SELL') throw new InvariantViolation(`${event.txId} does not pair a buy with a sell`);
    const earlierPrice = buy.order < sell.order ? buy.priceSats : sell.priceSats;
    if (event.priceSats !== earlierPrice) throw new InvariantViolation(`${event.txId}: price ${event.priceSats} is not the earlier bid's ${earlierPrice}`);
    if (buy.priceSats < sell.priceSats) throw new InvariantViolation(`${event.txId}: buy ${buy.priceSats} below sell ${sell.priceSats}`);
    const article = this.articles?.get(buy.article);
    if (article !== undefined) {
      const product = BigInt(event.priceSats) * BigInt(article.feeNumerator);
      const feeSats = Number((product + BigInt(article.feeDenominator) - 1n) / BigInt(article.feeDenominator));
      if (event.feeSats !== feeSats) throw new InvariantViolation(`${event.txId}: fee ${event.feeSats}, the article's rule (rounded up) gives ${feeSats}`);
    }
    this.bids.delete(event.buyBidId);
    this.bids.delete(event.sellBidId);
    this.transactions.set(event.txId, { buyer: event.buyer, priceSats: event.priceSats, feeSats: event.feeSats, deadlineMs: event.deadlineMs });
  }

  /** An expired buy bid gives back all it held, in the same command. */
  private expired(bidId: string, releases: ReadonlyMap<string, number>): void {
    const bid = this.bids.get(bidId);
    this.bids.delete(bidId);
    if (bid === undefined || bid.side !== 'BUY' || bid.holdSats === 0) return;
    this.checks++;
    const releasedSats = releases.get(bidId) ?? 0;
    if (releasedSats !== bid.holdSats) throw new InvariantViolation(`${bidId} expired holding ${bid.holdSats}, released ${releasedSats}`);
  }

  private retired(event: Extract<CoreEvent, { type: 'txRetired' }>): void {
    this.checks++;
    const tx = this.transactions.get(event.txId);
    if (tx === undefined) throw new InvariantViolation(`${event.txId} retired but was never open`);
    this.transactions.delete(event.txId);
    if (event.atMs > tx.deadlineMs) throw new InvariantViolation(`${event.txId} retired at ${event.atMs}, after its deadline ${tx.deadlineMs}`);
    if (event.sellerSats > 0 && !event.byArbiter && !this.receipts.has(event.txId)) {
      throw new InvariantViolation(`${event.txId}: the seller was paid ${event.sellerSats} without the buyer's receipt`);
    }
    if (event.sellerSats > tx.priceSats) throw new InvariantViolation(`${event.txId}: the seller got ${event.sellerSats}, more than the price ${tx.priceSats}`);
    // Evidence decides all or nothing: the price to the seller its results agreed with, or back to the buyer.
    if (event.byEvidence && event.sellerSats !== 0 && event.sellerSats !== tx.priceSats) throw new InvariantViolation(`${event.txId}: evidence gave the seller ${event.sellerSats} of ${tx.priceSats}`);
    const split = event.sellerSats + event.feeSats + event.refundSats;
    if (split !== tx.priceSats + tx.feeSats) throw new InvariantViolation(`${event.txId}: ${split} paid out of ${tx.priceSats + tx.feeSats} held`);
  }

  /** Money conserved: credits equal the participants' balances plus the fees collected. */
  checkConservation(balancesSats: number, feesSats: number): void {
    this.checks++;
    if (balancesSats + feesSats !== this.creditedSats) {
      throw new InvariantViolation(`money is not conserved: credited ${this.creditedSats}, balances ${balancesSats} + fees ${feesSats}`);
    }
  }

  /** Each completed withdrawal's destination holds exactly its payment: paid once, exactly, by its transaction. */
  checkPayouts(confirmedOutputsTo: (address: string) => readonly { readonly txid: string; readonly valueSats: number }[]): void {
    for (const withdrawal of this.completed) {
      this.checks++;
      const outputs = confirmedOutputsTo(withdrawal.destination);
      if (outputs.length !== 1 || outputs[0]!.txid !== withdrawal.txid || outputs[0]!.valueSats !== withdrawal.amountSats) {
        throw new InvariantViolation(`${withdrawal.withdrawalId}: ${withdrawal.amountSats} sat by ${withdrawal.txid} to ${withdrawal.destination}, the chain shows ${JSON.stringify(outputs)}`);
      }
    }
  }

  /** With no payout in flight: the wallet's confirmed coins cover what the participants are owed (credited less fees). */
  checkWallet(walletSats: number, feesSats: number): void {
    this.checks++;
    const owedSats = this.creditedSats - feesSats;
    if (walletSats < owedSats) throw new InvariantViolation(`the wallet holds ${walletSats} sat, the participants are owed ${owedSats}`);
  }

  get completedWithdrawals(): number {
    return this.completed.length;
  }

  get openTransactions(): number {
    return this.transactions.size;
  }
}

/** What each bid's hold gave back in one batch of events, by bid id. */
function releasesOf(events: readonly CoreEvent[]): Map<string, number> {
  const releases = new Map<string, number>();
  for (const event of events) if (event.type === 'transfer' && event.kind === 'bid_release') releases.set(event.reference, (releases.get(event.reference) ?? 0) + event.amountSats);
  return releases;
}
