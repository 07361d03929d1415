// The simulation's auditor (STYLE.md example 7): a deliberately simple, separate model that
// follows every event the exchange's core emits (once each, in order, as they become durable) and
// what the agents did, and checks the market's promises independently of the core's own checker:
//   - no bid is matched twice, and a trade's price is that of its earlier bid;
//   - every transaction is retired by its deadline;
//   - a seller is paid only against the buyer's receipt, and never more than the price;
//   - a retired transaction splits exactly price + fee between seller, fees and refund;
//   - money is conserved: what was credited equals the accounts' balances plus the fees.
// A broken promise throws InvariantViolation with what was seen.
import type { CoreEvent } from '../src/market/commands.js';

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

interface OpenTx {
  readonly priceSats: number;
  readonly feeSats: number;
  deadlineMs: number;
}

export class Auditor {
  /** Bid id -> [price, acceptance order], for bids still open. */
  private readonly bids = new Map<string, readonly [priceSats: number, order: number]>();
  private readonly matchedBids = new Set<string>();
  private readonly transactions = new Map<string, OpenTx>();
  /** Transactions whose buyer signed a receipt (told by the buyer agents). */
  private readonly receipts = new Set<string>();
  private order = 0;
  creditedSats = 0;
  eventsSeen = 0;
  checks = 0;

  receiptSigned(txId: string): void {
    this.receipts.add(txId);
  }

  observe(events: readonly CoreEvent[]): void {
    for (const event of events) {
      this.eventsSeen++;
      switch (event.type) {
        case 'bidAccepted':
          this.bids.set(event.bidId, [event.priceSats, this.order++]);
          break;
        case 'bidExpired':
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
          if (event.kind === 'credit') this.creditedSats += event.amountSats;
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
    const [buyPrice, buyOrder] = this.bids.get(event.buyBidId)!;
    const [sellPrice, sellOrder] = this.bids.get(event.sellBidId)!;
    const earlierPrice = buyOrder < sellOrder ? buyPrice : sellPrice;
    if (event.priceSats !== earlierPrice) throw new InvariantViolation(`${event.txId}: price ${event.priceSats} is not the earlier bid's ${earlierPrice}`);
    if (buyPrice < sellPrice) throw new InvariantViolation(`${event.txId}: buy ${buyPrice} below sell ${sellPrice}`);
    this.bids.delete(event.buyBidId);
    this.bids.delete(event.sellBidId);
    this.transactions.set(event.txId, { priceSats: event.priceSats, feeSats: event.feeSats, deadlineMs: event.deadlineMs });
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

  get openTransactions(): number {
    return this.transactions.size;
  }
}
