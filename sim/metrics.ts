// What a simulation measures, per simulated minute: trades, volume and fees; bids placed and
// expired; how long buy bids waited for a match; how transactions ended; and, sampled at each
// minute's end, each article's best bid and ask with the depth behind them, and how many sellers
// were busy. Fed by the core's events (once each, as the auditor sees them). No wall-clock time:
// the same seed gives the same numbers.
import type { CoreEvent } from '../src/market/commands.js';
import type { MarketCore } from '../src/market/core.js';

export interface ArticleMinute {
  trades: number;
  volumeSats: number;
  /** Sampled at the minute's end (null: that side of the book was empty). */
  bestBidSats: number | null;
  bestAskSats: number | null;
  bidDepth: number;
  askDepth: number;
}

export interface MinuteRow {
  minute: number;
  trades: number;
  volumeSats: number;
  feesSats: number;
  buyBids: number;
  sellBids: number;
  bidsExpired: number;
  /** Buy bids matched this minute, and their total wait from acceptance to match. */
  buyBidsMatched: number;
  matchWaitMsTotal: number;
  finished: number;
  disputed: number;
  /** Disputed results that paid the seller anything (by the arbiter), and prices kept by the exchange when nobody decided. */
  disputesPaid: number;
  forfeitedSats: number;
  timedOut: number;
  busySellers: number;
  articles: ArticleMinute[];
}

/** How checking results worked out over the whole run (docs/simulator.md, "Disputes and cheating sellers"). */
export interface VerificationTally {
  /** Transactions whose seller was a cheater and that delivered a result; of them, how many paid the seller. */
  cheatingTrades: number;
  cheatingPaid: number;
  /** Honest sellers' transactions that lost a dispute (should never happen). */
  honestPenalised: number;
  disputes: number;
  disputesByEvidence: number;
  disputesByArbiter: number;
  /** Disputes that ran out their window undecided. */
  disputesUndecided: number;
  /** How long disputed money stayed held, from the result (UNVERIFIED) to a decision (evidence or arbiter; undecided ones wait the whole window). */
  disputeHeldMsTotal: number;
  disputeHeldMsMax: number;
  /** What buyers paid in all (price + fee of settled transactions), and of that for witness purchases. */
  buyerSpendSats: number;
  witnessSpendSats: number;
  witnessTrades: number;
}

/** What the metrics are told about the agents: which sellers cheat, which purchases check another. */
export interface AgentFacts {
  isCheater(address: string): boolean;
  isWitness(txId: string): boolean;
}

export class Metrics {
  readonly minutes: MinuteRow[] = [];
  readonly verification: VerificationTally = {
    cheatingTrades: 0, cheatingPaid: 0, honestPenalised: 0, disputes: 0, disputesByEvidence: 0, disputesByArbiter: 0, disputesUndecided: 0,
    disputeHeldMsTotal: 0, disputeHeldMsMax: 0, buyerSpendSats: 0, witnessSpendSats: 0, witnessTrades: 0,
  };
  private readonly sellerOf = new Map<string, string>();
  /** When each active transaction got its result (UNVERIFIED): a dispute holds money from then. */
  private readonly resultAtMs = new Map<string, number>();
  private readonly buyBidAcceptedMs = new Map<string, number>();
  /** The price of each active transaction (an undecided dispute's txRetired counts it as the exchange's). */
  private readonly priceOf = new Map<string, number>();

  constructor(
    private readonly startMs: number,
    private readonly articleIds: readonly string[],
    /** Bids live this long: a bid's acceptance time is its expiry less this. */
    private readonly bidLifetimeMs: number,
    private readonly facts: AgentFacts = { isCheater: () => false, isWitness: () => false },
  ) {}

  private row(nowMs: number): MinuteRow {
    const minute = Math.max(0, Math.floor((nowMs - this.startMs) / 60_000));
    while (this.minutes.length <= minute) {
      this.minutes.push({
        minute: this.minutes.length,
        trades: 0, volumeSats: 0, feesSats: 0, buyBids: 0, sellBids: 0, bidsExpired: 0,
        buyBidsMatched: 0, matchWaitMsTotal: 0, finished: 0, disputed: 0, disputesPaid: 0, forfeitedSats: 0, timedOut: 0, busySellers: 0,
        articles: this.articleIds.map(() => ({ trades: 0, volumeSats: 0, bestBidSats: null, bestAskSats: null, bidDepth: 0, askDepth: 0 })),
      });
    }
    return this.minutes[minute]!;
  }

  observe(events: readonly CoreEvent[], nowMs: number): void {
    const row = this.row(nowMs);
    for (const event of events) {
      switch (event.type) {
        case 'bidAccepted':
          if (event.side === 'BUY') {
            row.buyBids++;
            this.buyBidAcceptedMs.set(event.bidId, event.expiresMs - this.bidLifetimeMs);
          } else row.sellBids++;
          break;
        case 'bidExpired':
          row.bidsExpired++;
          this.buyBidAcceptedMs.delete(event.bidId);
          break;
        case 'trade': {
          row.trades++;
          row.volumeSats += event.priceSats;
          this.priceOf.set(event.txId, event.priceSats);
          this.sellerOf.set(event.txId, event.seller);
          const article = row.articles[this.articleIds.indexOf(event.article)];
          if (article !== undefined) {
            article.trades++;
            article.volumeSats += event.priceSats;
          }
          const acceptedMs = this.buyBidAcceptedMs.get(event.buyBidId);
          if (acceptedMs !== undefined) {
            row.buyBidsMatched++;
            row.matchWaitMsTotal += event.atMs - acceptedMs;
            this.buyBidAcceptedMs.delete(event.buyBidId);
          }
          break;
        }
        case 'txMessageAccepted':
          if (event.to === 'UNVERIFIED') this.resultAtMs.set(event.txId, nowMs);
          break;
        case 'txRetired': {
          this.tally(event);
          const forfeited = event.phase === 'RESULT_DISPUTED' && !event.byArbiter && !event.byEvidence ? (this.priceOf.get(event.txId) ?? 0) : 0;
          this.priceOf.delete(event.txId);
          row.feesSats += event.feeSats - forfeited;
          row.forfeitedSats += forfeited;
          if (event.phase === 'RESULT_DISPUTED' && event.sellerSats > 0) row.disputesPaid++;
          if (event.phase === 'FINISHED' || event.phase === 'UNVERIFIED') row.finished++;
          else if (event.phase === 'RESULT_DISPUTED' || event.phase === 'WORK_DISPUTED') row.disputed++;
          else row.timedOut++;
          break;
        }
        default:
          break;
      }
    }
  }

  private tally(event: Extract<CoreEvent, { type: 'txRetired' }>): void {
    const v = this.verification;
    const seller = this.sellerOf.get(event.txId);
    const priceSats = this.priceOf.get(event.txId) ?? 0;
    this.sellerOf.delete(event.txId);
    const since = this.resultAtMs.get(event.txId);
    this.resultAtMs.delete(event.txId);
    const delivered = event.phase === 'FINISHED' || event.phase === 'UNVERIFIED' || event.phase === 'RESULT_DISPUTED';
    const cheater = seller !== undefined && this.facts.isCheater(seller);
    if (cheater && delivered) {
      v.cheatingTrades++;
      if (event.sellerSats > 0) v.cheatingPaid++;
    }
    const paidSats = event.sellerSats + event.feeSats;
    v.buyerSpendSats += paidSats;
    if (this.facts.isWitness(event.txId)) {
      v.witnessTrades++;
      v.witnessSpendSats += paidSats;
    }
    if (event.phase !== 'RESULT_DISPUTED') return;
    v.disputes++;
    if (event.byEvidence === true) v.disputesByEvidence++;
    else if (event.byArbiter) v.disputesByArbiter++;
    else v.disputesUndecided++;
    if (!cheater && (event.byEvidence === true || event.byArbiter) && 2 * event.sellerSats < priceSats) v.honestPenalised++;
    if (since !== undefined && (event.byEvidence || event.byArbiter)) {
      v.disputeHeldMsTotal += event.atMs - since;
      v.disputeHeldMsMax = Math.max(v.disputeHeldMsMax, event.atMs - since);
    }
  }

  /** The book and the sellers at the end of the minute that ends at `nowMs`. */
  sample(nowMs: number, core: MarketCore | undefined, busySellers: number): void {
    const row = this.row(nowMs - 1);
    row.busySellers = busySellers;
    if (core === undefined) return; // the exchange is down this minute
    this.articleIds.forEach((articleId, index) => {
      const depth = core.depth(articleId, 100);
      const article = row.articles[index]!;
      if (depth === undefined) return;
      article.bestBidSats = depth.bids[0]?.priceSats ?? null;
      article.bestAskSats = depth.asks[0]?.priceSats ?? null;
      article.bidDepth = depth.bids.reduce((sum, level) => sum + level.count, 0);
      article.askDepth = depth.asks.reduce((sum, level) => sum + level.count, 0);
    });
  }
}
