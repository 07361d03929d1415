// The auditor (STYLE.md example 7): a deliberately simple checker that watches commands, the
// core's results and the exported state after every step, and checks the market invariants
// from the outside, without trusting the core's own bookkeeping:
//   1 money is conserved          2 no balance is negative        3 no bid is matched twice
//   4 the trade price rule holds  5 every transaction is retired by its deadline
//   6 a seller is credited only after a valid signed receipt
//   7 an expired bid's hold is fully released
// Each check throws an Error naming its invariant, so a failing run says which one broke.
import type { CommandResult, CoreEvent, MarketCommand } from '../../../src/market/commands.js';
import type { VerifyReceipt } from '../../../src/market/core.js';
import type { ArticleSpec } from '../../../src/market/articles.js';
import type { MarketState } from '../../../src/market/state.js';

interface BidInfo {
  readonly seq: number;
  readonly side: 'BUY' | 'SELL';
  readonly priceSats: number;
  readonly holdSats: number;
  readonly article: string;
}

interface TxInfo {
  readonly buyer: string;
  deadlineMs: number;
  receipt: { readonly hash: string; readonly signature: string } | null;
}

export class InvariantError extends Error {
  override name = 'InvariantError';
  constructor(readonly invariant: number, message: string) {
    super(`invariant ${invariant} broken: ${message}`);
  }
}

function check(invariant: number, condition: boolean, message: string): void {
  if (!condition) throw new InvariantError(invariant, message);
}

export class Auditor {
  /** Money that entered minus money that left, from accepted commands alone. */
  private insideSats = 0;
  private readonly bids = new Map<string, BidInfo>();
  private readonly matched = new Set<string>();
  private readonly txs = new Map<string, TxInfo>();
  private readonly pendingAmounts = new Map<string, number>();

  constructor(
    private readonly articles: ReadonlyMap<string, ArticleSpec>,
    private readonly verifyReceipt: VerifyReceipt,
  ) {}

  observe(command: MarketCommand, result: CommandResult, state: MarketState): void {
    if (result.status === 'accepted') this.countMoney(command);
    for (const event of result.events) this.observeEvent(event, result.events);
    if (result.status === 'accepted' && command.type === 'txMessage' && command.message === 'encresult') {
      const tx = this.txs.get(command.txId)!;
      tx.receipt = { hash: command.fields['encresulthash']!, signature: command.fields['encresulthashsig']! };
    }
    this.checkState(state);
  }

  private countMoney(command: MarketCommand): void {
    if (command.type === 'credit' || command.type === 'depositSeen') this.insideSats += command.amountSats;
    if (command.type === 'depositDropped' || command.type === 'payoutSent') {
      this.insideSats -= this.pendingAmounts.get(command.type === 'depositDropped' ? command.depositId : command.payoutId)!;
    }
    if (command.type === 'depositSeen') this.pendingAmounts.set(command.depositId, command.amountSats);
    if (command.type === 'requestPayout') this.pendingAmounts.set(command.payoutId, command.amountSats);
  }

  private observeEvent(event: CoreEvent, all: readonly CoreEvent[]): void {
    switch (event.type) {
      case 'bidAccepted':
        this.bids.set(event.bidId, {
          seq: Number(event.bidId.slice(1)),
          side: event.side,
          priceSats: event.priceSats,
          holdSats: event.holdSats,
          article: event.article,
        });
        return;
      case 'trade':
        return this.checkTrade(event);
      case 'txMessageAccepted':
        this.txs.get(event.txId)!.deadlineMs = event.deadlineMs;
        return;
      case 'txRetired': {
        const tx = this.txs.get(event.txId)!;
        check(5, event.atMs <= tx.deadlineMs, `${event.txId} retired at ${event.atMs}, after its deadline ${tx.deadlineMs}`);
        return;
      }
      case 'transfer':
        if (event.kind === 'settle_price') this.checkSellerPaid(event.reference);
        return;
      case 'bidExpired':
        return this.checkHoldReleased(event.bidId, all);
      default:
        return;
    }
  }

  private checkTrade(event: Extract<CoreEvent, { type: 'trade' }>): void {
    for (const bidId of [event.buyBidId, event.sellBidId]) {
      check(3, !this.matched.has(bidId), `${bidId} matched twice (again in ${event.txId})`);
      this.matched.add(bidId);
    }
    const buy = this.bids.get(event.buyBidId)!;
    const sell = this.bids.get(event.sellBidId)!;
    const resting = this.bids.get(event.restingBidId)!;
    const other = event.restingBidId === event.buyBidId ? sell : buy;
    check(4, buy.side === 'BUY' && sell.side === 'SELL', `${event.txId} pairs a BUY with a SELL`);
    check(4, sell.priceSats <= buy.priceSats, `${event.txId}: SELL ${sell.priceSats} above BUY ${buy.priceSats}`);
    check(4, resting.seq < other.seq, `${event.txId}: the price-setting bid is the earlier one`);
    check(4, event.priceSats === resting.priceSats, `${event.txId}: price ${event.priceSats} is not the earlier bid's`);
    const article = this.articles.get(buy.article)!;
    const product = BigInt(event.priceSats) * BigInt(article.feeNumerator);
    const feeSats = Number((product + BigInt(article.feeDenominator) - 1n) / BigInt(article.feeDenominator));
    check(4, event.feeSats === feeSats, `${event.txId}: fee ${event.feeSats}, expected ceil = ${feeSats}`);
    this.txs.set(event.txId, { buyer: event.buyer, deadlineMs: event.deadlineMs, receipt: null });
  }

  private checkSellerPaid(txId: string): void {
    const tx = this.txs.get(txId);
    check(6, tx !== undefined && tx.receipt !== null, `${txId}: seller paid without an accepted receipt`);
    const { hash, signature } = tx!.receipt!;
    check(6, this.verifyReceipt(tx!.buyer, hash, signature), `${txId}: seller paid on a receipt that does not verify`);
  }

  private checkHoldReleased(bidId: string, all: readonly CoreEvent[]): void {
    const bid = this.bids.get(bidId)!;
    if (bid.side !== 'BUY' || bid.holdSats === 0) return;
    const released = all
      .filter((e) => e.type === 'transfer' && e.kind === 'bid_release' && e.reference === bidId)
      .reduce((sum, e) => sum + (e.type === 'transfer' ? e.amountSats : 0), 0);
    check(7, released === bid.holdSats, `${bidId} expired holding ${bid.holdSats}, released ${released}`);
  }

  private checkState(state: MarketState): void {
    let totalSats = state.feesSats + state.worldSats;
    for (const account of state.accounts) {
      for (const [bucket, sats] of Object.entries(account)) {
        if (typeof sats !== 'number') continue;
        check(2, Number.isSafeInteger(sats) && sats >= 0, `${account.address}.${bucket} = ${sats}`);
        totalSats += sats;
      }
    }
    check(1, totalSats === 0, `all ledger accounts sum to ${totalSats}`);
    check(1, -state.worldSats === this.insideSats, `${-state.worldSats} inside, ${this.insideSats} came in net`);
    for (const tx of state.transactions) {
      check(5, tx.deadlineMs > state.nowMs, `${tx.txId} alive at ${state.nowMs}, past its deadline ${tx.deadlineMs}`);
    }
    for (const bid of state.bids) check(7, bid.expiresMs > state.nowMs, `${bid.bidId} rests past its expiry`);
    const holdIds = new Set(state.holds.map((hold) => hold.holdId));
    for (const [bidId, bid] of this.bids) {
      const live = state.bids.some((b) => b.bidId === bidId) || state.transactions.some((t) => t.buyBidId === bidId);
      if (bid.side === 'BUY') check(7, live === holdIds.has(bidId), `${bidId}: hold ${holdIds.has(bidId)}, live ${live}`);
    }
  }
}
