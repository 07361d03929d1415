// The market core: order books, matching, transactions and the ledger, as one deterministic
// function of its commands (exchange-core style). `execute(command)` first fires every deadline
// up to the command's time (bid expiries, transaction retirements), then checks the command's
// rejections in a fixed order and, if none applies, applies it. It reads no clock, draws no
// randomness and does no I/O; the one outside function it calls is the injected receipt
// verifier. Machines (bid, transaction, account) are stepped through their pure steppers.
// The rules, with their reasons, are in docs/market-rules.md.
import { assert, unreachable } from '../assert.js';
import { articleProblem, copyArticle } from './articles.js';
import type { ArticleSpec } from './articles.js';
import { DeadlineQueue, ExpiryLane } from './deadlines.js';
import type { TxDeadline } from './deadlines.js';
import { Ledger } from './ledger.js';
import type { Hold } from './ledger.js';
import { ACCOUNTS_MAX, ADDRESS_CHARS_MAX, ARTICLES_MAX, AVOID_SELLERS_MAX, MONEY_SATS_MAX, OPEN_BIDS_PER_ARTICLE_DEFAULT } from './limits.js';
import { OPEN_BIDS_MAX, OPEN_BIDS_PER_ARTICLE_MAX } from './limits.js';
import { feeFor, isSats } from './money.js';
import { OrderBook } from './order-book.js';
import type { BookEntry, Depth, LastTrade } from './order-book.js';
import { REJECTIONS } from './rejections.js';
import type { RejectionName } from './rejections.js';
import { isTxMessageType, TX_MESSAGE_FIELDS, txEventOf, txFieldsValid } from './tx-messages.js';
import { compareStrings, hashMarketState, MARKET_STATE_VERSION } from './state.js';
import type { AccountSnapshot, BidSnapshot, MarketState, TxSnapshot } from './state.js';
import type { CommandOf, CommandResult, CoreEvent, MarketCommand } from './commands.js';
import { Funds } from './funds.js';
import { accountMachine } from '../machines/account.js';
import { bidMachine } from '../machines/bid.js';
import type { BidState } from '../machines/bid.js';
import { stepperOf } from '../machines/flat-machine.js';
import type { StepperKind } from '../machines/flat-machine.js';
import { txMachine, workSecretHashOf } from '../machines/transaction.js';
import type { TxContext, TxPhase, TxSettlement, TxState } from '../machines/transaction.js';
import { EVIDENCE_WITNESSES_MAX, EVIDENCE_WITNESSES_MIN, majorityResult, verificationOf } from './evidence.js';
import type { ResultVote } from './evidence.js';
import { bump, NO_TRADES, retirementCounts } from './reputation.js';
import type { Reputation } from './reputation.js';

/**
 * Checks the buyer's receipt: a Bitcoin signed-message signature (base64) by `buyerAddress`
 * over the text `hashHex`. Returns false for a signature that does not verify; never throws
 * for bad input.
 */
export type VerifyReceipt = (buyerAddress: string, hashHex: string, signatureBase64: string) => boolean;

export interface MarketCoreOptions {
  readonly verifyReceipt: VerifyReceipt;
  /** How machines are stepped: 'compiled' (default, fast) or 'xstate' (XState's transition()). */
  readonly stepper?: StepperKind;
  /** Accounts the core keeps (default ACCOUNTS_MAX); smaller only in tests of the limit. */
  readonly accountsMax?: number;
  /** Resting bids in all books (default OPEN_BIDS_MAX); smaller only in tests of the limit. */
  readonly openBidsMax?: number;
  /** Deposit addresses reserved in all (default DEPOSIT_ADDRESSES_MAX, limits.ts); smaller only in tests of the limit. */
  readonly depositAddressesMax?: number;
}

export interface MarketCoreConfig {
  readonly startMs?: number;
  readonly articles?: readonly ArticleSpec[];
  readonly openBidsPerArticleMax?: number;
}

interface BidRecord extends BookEntry {
  state: BidState;
  /** A BUY bid's sellers not to be matched with; null for none (nearly every bid). */
  readonly avoid: ReadonlySet<string> | null;
  /** A BUY bid's escrow (price + fee); null for a SELL. */
  readonly hold: Hold | null;
}

interface TxRecord {
  state: TxState;
  /** The BUY bid's escrow, adjusted at the match to price + fee. */
  readonly hold: Hold;
}

interface ArticleRecord {
  readonly spec: ArticleSpec;
  readonly book: OrderBook<BidRecord>;
  /** Resting bids per participant in this article (for the open-bid limit). */
  readonly openBids: Map<string, number>;
  /** This article's bids in expiry order (matched and withdrawn ones are skipped when due). */
  readonly lane: ExpiryLane<BidRecord>;
}

type Rejection = RejectionName | null;
type Events = CoreEvent[];


export class MarketCore {
  private nowMs: number;
  private bidSeq = 0;
  private txSeq = 0;
  private readonly openBidsPerArticleMax: number;
  private readonly articles = new Map<string, ArticleRecord>();
  private readonly ledger: Ledger;
  /** Resting bids and active transactions, by sequence number (cheaper keys than id strings). */
  private readonly bids = new Map<number, BidRecord>();
  private readonly txs = new Map<number, TxRecord>();
  /** The same, by participant (a transaction under both parties), so per-participant queries cost O(own). */
  private readonly bidsOf = new Map<string, Set<BidRecord>>();
  private readonly txsOf = new Map<string, Set<TxRecord>>();
  /** Transactions in RESULT_DISPUTED, so the arbiter's query costs O(disputes), not O(market). */
  private readonly disputed = new Set<TxRecord>();
  /** Public counts of how each participant's transactions ended (reputation.ts). */
  private readonly reputations = new Map<string, Reputation>();
  private readonly deadlines = new DeadlineQueue<BidRecord>();
  /** Deposits and withdrawals (funds.ts). */
  readonly funds: Funds;
  private readonly bidStepper;
  private readonly txStepper;
  private readonly verifyReceipt: VerifyReceipt;
  private readonly accountsMax: number;
  private readonly openBidsMax: number;

  constructor(options: MarketCoreOptions, config: MarketCoreConfig = {}) {
    const kind = options.stepper ?? 'compiled';
    this.bidStepper = stepperOf(bidMachine, kind);
    this.txStepper = stepperOf(txMachine, kind);
    this.ledger = new Ledger(stepperOf(accountMachine, kind));
    this.verifyReceipt = options.verifyReceipt;
    this.accountsMax = options.accountsMax ?? ACCOUNTS_MAX;
    this.openBidsMax = options.openBidsMax ?? OPEN_BIDS_MAX;
    this.funds = new Funds(this.ledger, { nowMs: () => this.nowMs, checkInflow: (participant, amountSats) => this.checkInflow(participant, amountSats) }, kind, options.depositAddressesMax);
    assert(this.openBidsMax >= 1 && this.openBidsMax <= OPEN_BIDS_MAX, 'openBidsMax');
    assert(this.accountsMax >= 1 && this.accountsMax <= ACCOUNTS_MAX, 'accountsMax');
    this.nowMs = config.startMs ?? 0;
    this.openBidsPerArticleMax = config.openBidsPerArticleMax ?? OPEN_BIDS_PER_ARTICLE_DEFAULT;
    assert(Number.isSafeInteger(this.nowMs) && this.nowMs >= 0, 'startMs is a whole, non-negative time');
    assert(this.openBidsPerArticleMax >= 1 && this.openBidsPerArticleMax <= OPEN_BIDS_PER_ARTICLE_MAX, 'bid limit');
    for (const article of config.articles ?? []) {
      assert(articleProblem(article) === null, `article ${article.articleId}: ${articleProblem(article)}`);
      assert(!this.articles.has(article.articleId), `article ${article.articleId} is defined once`);
      this.articles.set(article.articleId, newArticleRecord(article));
    }
  }

  /** Applies one command at its time. Hosts pass a time that never goes backwards. */
  execute(command: MarketCommand): CommandResult {
    assert(Number.isSafeInteger(command.nowMs), 'a command carries a whole-millisecond time');
    // Messages are built only on failure: this runs for every command.
    if (command.nowMs < this.nowMs) assert(false, `time went backwards: ${command.nowMs} < ${this.nowMs}`);
    const events: Events = [];
    this.advanceTo(command.nowMs, events);
    const rejection = this.apply(command, events);
    if (rejection === null) return { status: 'accepted', events };
    return { status: 'rejected', rejection, code: REJECTIONS[rejection].code, events };
  }

  now(): number {
    return this.nowMs;
  }

  private apply(command: MarketCommand, events: Events): Rejection {
    switch (command.type) {
      case 'advanceTime':
        return null;
      case 'defineArticle':
        return this.defineArticle(command, events);
      case 'placeBid':
        return this.placeBid(command, events);
      case 'withdrawBid':
        return this.withdrawBid(command, events);
      case 'txMessage':
        return this.txMessage(command, events);
      case 'resolveDispute':
        return this.resolveDispute(command, events);
      case 'submitEvidence':
        return this.submitEvidence(command, events);
      case 'credit':
        return this.credit(command, events);
      case 'requestDepositAddress':
        return this.funds.requestDepositAddress(command, events);
      case 'depositSeen':
        return this.funds.depositSeen(command, events);
      case 'depositConfirmed':
        return this.funds.depositConfirmed(command, events);
      case 'depositDropped':
        return this.funds.depositDropped(command, events);
      case 'depositMoved':
      case 'depositReversed':
      case 'depositFinal':
        return this.funds.changeCredited(command, events);
      case 'requestWithdrawal':
        return this.funds.requestWithdrawal(command, events);
      case 'withdrawalStep':
        return this.funds.withdrawalStep(command, events);
      case 'setWithdrawalPolicy':
        return this.funds.setWithdrawalPolicy(command, events);
      case 'payoutBatch':
        return this.funds.payoutBatch(command, events);
      case 'payoutBump':
        return this.funds.payoutBump(command, events);
      case 'payoutSigned':
        return this.funds.payoutSigned(command, events);
      case 'payoutBatchStep':
        return this.funds.payoutBatchStep(command, events);
      case 'freezeAccount':
      case 'unfreezeAccount':
        return this.setFrozen(command, events);
      default:
        return unreachable(command, 'unknown market command');
    }
  }

  // ---- Time ------------------------------------------------------------------------------

  /** Fires every deadline at or before `targetMs`, each at its own time, in canonical order. */
  private advanceTo(targetMs: number, events: Events): void {
    for (;;) {
      const due = this.deadlines.popDue(targetMs);
      if (due === undefined) break;
      const dueMs = due.kind === 'bid' ? due.bid.expiresMs : due.deadline.dueMs;
      assert(dueMs >= this.nowMs, 'deadlines fire in time order');
      this.nowMs = dueMs;
      if (due.kind === 'bid') this.expireBid(due.bid, events);
      else this.retireAtDeadline(due.deadline, events);
    }
    this.nowMs = targetMs;
  }

  private expireBid(record: BidRecord, events: Events): void {
    if (record.state.value !== 'placed') return; // Matched or withdrawn before it expired.
    assert(this.bids.get(record.seq) === record, 'a placed bid rests');
    const next = this.bidStepper.step(record.state, { type: 'EXPIRE', nowMs: record.expiresMs });
    assert(next.value === 'expired', 'a resting bid expires at its deadline');
    record.state = next;
    this.unrest(record);
    if (record.hold !== null) this.ledger.voidHold(record.hold, events);
    events.push({ type: 'bidExpired', bidId: record.bidId, atMs: record.expiresMs });
  }

  private retireAtDeadline(due: TxDeadline, events: Events): void {
    const record = this.txs.get(due.order);
    if (record === undefined) return; // Retired already (a final phase retires at once).
    const deadlineMs = record.state.context.deadlineMs;
    if (deadlineMs !== due.dueMs) {
      assert(deadlineMs > due.dueMs, 'deadlines only move later; the later entry will fire');
      return;
    }
    this.retire(record, { type: 'RETIRE', nowMs: due.dueMs }, events);
  }

  // ---- Catalogue -------------------------------------------------------------------------

  private defineArticle(command: CommandOf<'defineArticle'>, events: Events): Rejection {
    // Test errors by descending precedence.
    const spec = command.article;
    if (typeof spec !== 'object' || spec === null || articleProblem(spec) !== null) return 'article_invalid';
    if (this.articles.has(spec.articleId)) return 'article_exists';
    if (this.articles.size >= ARTICLES_MAX) return 'articles_full';
    const record = newArticleRecord(spec);
    this.articles.set(spec.articleId, record);
    events.push({ type: 'articleDefined', article: record.spec });
    return null;
  }

  // ---- Bids and matching -----------------------------------------------------------------

  private checkPlaceBid(command: CommandOf<'placeBid'>): Rejection {
    // Test errors by descending precedence.
    const article = this.articles.get(command.article);
    if (article === undefined) return 'article_unknown';
    if (command.side !== 'BUY' && command.side !== 'SELL') return 'bid_side_invalid';
    const priceSats = command.priceSats;
    if (!isSats(priceSats)) return 'bid_price_invalid';
    if (priceSats < article.spec.priceSatsMin || priceSats > article.spec.priceSatsMax) return 'bid_price_out_of_range';
    // A bid creates no account (accounts exist only while they hold money or are frozen), so
    // fresh keys placing free sell bids cannot fill the account table.
    const account = this.ledger.account(command.participant);
    if (account?.state.value === 'frozen') return 'account_frozen';
    const open = article.openBids.get(command.participant) ?? 0;
    if (open >= this.openBidsPerArticleMax) return 'bid_limit_reached';
    if (this.bids.size >= this.openBidsMax) return 'bid_book_full';
    if (command.avoid !== undefined && !avoidListValid(command.side, command.avoid)) return 'bid_avoid_invalid';
    if (command.side === 'BUY') {
      const costSats = priceSats + feeFor(priceSats, article.spec);
      if ((account?.state.context.availableSats ?? 0) < costSats) return 'insufficient_funds';
    }
    return null;
  }

  private placeBid(command: CommandOf<'placeBid'>, events: Events): Rejection {
    assertAddress(command.participant);
    const rejection = this.checkPlaceBid(command);
    if (rejection !== null) return rejection;
    // Point of no return: the bid is accepted and gets an id.
    const article = this.articles.get(command.article)!;
    const { participant, side, priceSats } = command;
    const feeSats = feeFor(priceSats, article.spec);
    const holdSats = side === 'BUY' ? priceSats + feeSats : 0;
    const seq = ++this.bidSeq;
    const bidId = `b${seq}`;
    const expiresMs = this.nowMs + article.spec.bidLifetimeMs;
    const avoid = command.avoid === undefined || command.avoid.length === 0 ? null : new Set(command.avoid);
    const state = this.bidStepper.initial({
      bidId,
      seq,
      participant,
      article: article.spec.articleId,
      side,
      priceSats,
      feeSats,
      holdSats,
      createdMs: this.nowMs,
      expiresMs,
      ...(avoid === null ? {} : { avoid: [...avoid] }),
    });
    events.push({ type: 'bidAccepted', bidId, participant, article: command.article, side, priceSats, feeSats, holdSats, expiresMs });
    const hold = side === 'BUY' ? this.ledger.openHold(participant, bidId, holdSats, events) : null;
    const record: BidRecord = { bidId, seq, participant, side, priceSats, expiresMs, heapIndex: -1, state, hold, avoid };
    const resting = article.book.matchFor(side, priceSats, pairsWith(record));
    if (resting === undefined) this.rest(article, record, events);
    else this.match(article, record, resting, events);
    return null;
  }

  private rest(article: ArticleRecord, record: BidRecord, events: Events): void {
    const next = this.bidStepper.step(record.state, { type: 'PLACE' });
    assert(next.value === 'placed', 'a queued bid that does not cross rests');
    record.state = next;
    article.book.insert(record);
    this.addBid(record);
    article.openBids.set(record.participant, (article.openBids.get(record.participant) ?? 0) + 1);
    this.deadlines.expireInLane(article.lane, record);
    events.push({ type: 'bidPlaced', bidId: record.bidId });
  }

  /** Takes a resting bid out of its book and the counts (it matched, expired or was withdrawn). */
  private unrest(record: BidRecord): void {
    const article = this.articles.get(record.state.context.article)!;
    article.book.remove(record);
    this.bids.delete(record.seq);
    removeFrom(this.bidsOf, record.participant, record);
    const open = article.openBids.get(record.participant);
    assert(open !== undefined && open > 0, 'a resting bid is counted');
    if (open === 1) article.openBids.delete(record.participant);
    else article.openBids.set(record.participant, open - 1);
  }

  private match(article: ArticleRecord, incoming: BidRecord, resting: BidRecord, events: Events): void {
    this.unrest(resting);
    const buy = incoming.side === 'BUY' ? incoming : resting;
    const sell = incoming.side === 'BUY' ? resting : incoming;
    assert(sell.priceSats <= buy.priceSats, 'a match needs SELL price <= BUY price');
    // The earlier (resting) bid sets the price; the fee is the article's fee on that price.
    const priceSats = resting.priceSats;
    const feeSats = feeFor(priceSats, article.spec);
    const txSeq = ++this.txSeq;
    const txId = `t${txSeq}`;
    for (const record of [resting, incoming]) {
      const next = this.bidStepper.step(record.state, { type: 'MATCH', txId, nowMs: this.nowMs });
      assert(next.value === 'matched', 'both bids of a match are matched, once');
      record.state = next;
    }
    // Keep exactly price + fee of the buyer's hold; give the rest back at once.
    const hold = buy.hold;
    assert(hold !== null && hold.amountSats >= priceSats + feeSats, 'the BUY hold covers the trade');
    this.ledger.releaseFromHold(hold, hold.amountSats - (priceSats + feeSats), events);
    const state = this.txStepper.initial({
      txId,
      seq: txSeq,
      article: article.spec.articleId,
      buyer: buy.participant,
      seller: sell.participant,
      buyBidId: buy.bidId,
      sellBidId: sell.bidId,
      priceSats,
      feeSats,
      createdMs: this.nowMs,
    });
    this.addTx(txSeq, { state, hold });
    const deadlineMs = state.context.deadlineMs;
    this.deadlines.pushTx(deadlineMs, txSeq, txId);
    article.book.lastTrade = { priceSats, txId, atMs: this.nowMs };
    events.push({
      type: 'trade',
      txId,
      article: article.spec.articleId,
      buyBidId: buy.bidId,
      sellBidId: sell.bidId,
      restingBidId: resting.bidId,
      buyer: buy.participant,
      seller: sell.participant,
      priceSats,
      feeSats,
      atMs: this.nowMs,
      deadlineMs,
    });
  }

  private withdrawBid(command: CommandOf<'withdrawBid'>, events: Events): Rejection {
    assertAddress(command.participant);
    // Test errors by descending precedence.
    const seq = seqOf(command.bidId, 'b');
    const record = seq === null ? undefined : this.bids.get(seq);
    if (record === undefined) return seq !== null && seq <= this.bidSeq ? 'bid_closed' : 'bid_not_found';
    if (record.participant !== command.participant) return 'bid_not_owner';
    // Point of no return.
    const next = this.bidStepper.step(record.state, { type: 'WITHDRAW', nowMs: this.nowMs });
    assert(next.value === 'withdrawn', 'a resting bid can be withdrawn');
    record.state = next;
    this.unrest(record);
    if (record.hold !== null) this.ledger.voidHold(record.hold, events);
    events.push({ type: 'bidWithdrawn', bidId: record.bidId, atMs: this.nowMs });
    return null;
  }

  // ---- Transactions ----------------------------------------------------------------------

  private txMessage(command: CommandOf<'txMessage'>, events: Events): Rejection {
    assertAddress(command.participant);
    // Test errors by descending precedence.
    const { message, fields, participant } = command;
    if (!isTxMessageType(message)) return 'tx_message_unknown';
    if (!txFieldsValid(message, fields)) return 'tx_fields_invalid';
    const record = this.liveTx(command.txId);
    if (record === undefined) return this.isIssuedTx(command.txId) ? 'tx_retired' : 'tx_not_found';
    const context = record.state.context;
    if (participant !== context.buyer && participant !== context.seller) return 'tx_not_party';
    const rule = TX_MESSAGE_FIELDS[message];
    if (participant !== (rule.sender === 'buyer' ? context.buyer : context.seller)) return 'tx_wrong_sender';
    if (!txMachine.handles(record.state.value, rule.event)) return 'tx_wrong_phase';
    if (message === 'buyersecret') {
      assert(context.workHash !== null, 'a phase that takes the secret has the work hash');
      if (workSecretHashOf(context.workHash, fields['buyersecret']!) !== context.workSecretHash) {
        return 'tx_secret_mismatch';
      }
    }
    // Last, because it is the costly check: the receipt signature over the encrypted result.
    const receiptVerified =
      message === 'encresult' && this.verifyReceipt(context.buyer, fields['encresulthash']!, fields['encresulthashsig']!);
    if (message === 'encresult' && !receiptVerified) return 'tx_receipt_invalid';
    // Point of no return.
    assert(this.nowMs < context.deadlineMs, 'a live transaction is before its deadline');
    const from = record.state.value as TxPhase;
    const next = this.txStepper.step(record.state, txEventOf(message, fields, this.nowMs, receiptVerified));
    assert(next !== record.state && next.value !== 'RETIRED', 'the machine takes what the checks let through');
    record.state = next;
    const { deadlineMs, revision, txId, seq } = next.context;
    events.push({ type: 'txMessageAccepted', txId, message, from, to: next.value as TxPhase, deadlineMs, revision });
    if (next.value === 'RESULT_DISPUTED') this.disputed.add(record);
    if (next.value === 'FINISHED' || next.value === 'WORK_DISPUTED') {
      this.retire(record, { type: 'RETIRE', nowMs: this.nowMs }, events);
    } else if (deadlineMs !== context.deadlineMs) {
      assert(deadlineMs > context.deadlineMs, 'a phase grant moves the deadline later');
      this.deadlines.pushTx(deadlineMs, seq, txId);
    }
    return null;
  }

  private resolveDispute(command: CommandOf<'resolveDispute'>, events: Events): Rejection {
    // Test errors by descending precedence.
    const record = this.liveTx(command.txId);
    if (record === undefined) return this.isIssuedTx(command.txId) ? 'tx_retired' : 'tx_not_found';
    if (record.state.value !== 'RESULT_DISPUTED') return 'tx_not_disputed';
    if (!isSats(command.sellerSats) || command.sellerSats > record.state.context.priceSats) return 'tx_share_invalid';
    // Point of no return.
    this.retire(record, { type: 'RESOLVE_DISPUTE', nowMs: this.nowMs, sellerSats: command.sellerSats, by: 'arbiter' }, events);
    return null;
  }

  /**
   * The buyer's evidence: witnesses are its own live transactions for the same article and work,
   * from distinct other sellers, each with the seller's signed result hash. A strict majority of
   * the results (the disputed one included) decides: with the disputed seller, it is paid the
   * price; against it, the buyer gets the price back. Either way the exchange keeps the fee.
   */
  private submitEvidence(command: CommandOf<'submitEvidence'>, events: Events): Rejection {
    // Test errors by descending precedence.
    const record = this.liveTx(command.txId);
    if (record === undefined) return this.isIssuedTx(command.txId) ? 'tx_retired' : 'tx_not_found';
    const disputed = record.state.context;
    if (command.participant !== disputed.buyer) return disputed.seller === command.participant ? 'tx_wrong_sender' : 'tx_not_party';
    if (record.state.value !== 'RESULT_DISPUTED') return 'tx_not_disputed';
    if (!verificationOf(disputed.article).replicable) return 'tx_evidence_not_replicable';
    const claims = this.witnessClaims(disputed, command.witnesses);
    if (claims === null) return 'tx_evidence_invalid';
    const majority = majorityResult(claims);
    if (majority === null) return 'tx_evidence_inconclusive';
    // Point of no return.
    const sellerSats = majority === disputed.resultHash ? disputed.priceSats : 0;
    this.retire(record, { type: 'RESOLVE_DISPUTE', nowMs: this.nowMs, sellerSats, by: 'evidence' }, events);
    return null;
  }

  /** The disputed result's claim and its witnesses', or null when a witness does not qualify. */
  private witnessClaims(disputed: TxContext, witnesses: readonly string[]): ResultVote[] | null {
    if (!Array.isArray(witnesses) || witnesses.length < EVIDENCE_WITNESSES_MIN || witnesses.length > EVIDENCE_WITNESSES_MAX) return null;
    assert(disputed.resultHash !== null, 'a disputed result has its commitment');
    const claims: ResultVote[] = [{ seller: disputed.seller, resultHash: disputed.resultHash }];
    for (const txId of witnesses) {
      const witness = typeof txId === 'string' ? this.liveTx(txId)?.state : undefined;
      if (witness === undefined || (witness.value !== 'UNVERIFIED' && witness.value !== 'RESULT_DISPUTED')) return null;
      const c = witness.context;
      if (c.buyer !== disputed.buyer || c.article !== disputed.article || c.workHash !== disputed.workHash || c.resultHash === null) return null;
      if (claims.some((claim) => claim.seller === c.seller)) return null;
      claims.push({ seller: c.seller, resultHash: c.resultHash });
    }
    return claims;
  }

  private liveTx(txId: string): TxRecord | undefined {
    const seq = seqOf(txId, 't');
    return seq === null ? undefined : this.txs.get(seq);
  }

  private isIssuedTx(txId: string): boolean {
    const seq = seqOf(txId, 't');
    return seq !== null && seq <= this.txSeq;
  }

  /** Retires a transaction (deadline, final phase or arbiter) and settles the buyer's hold. */
  private retire(
    record: TxRecord,
    event: { readonly type: 'RETIRE' | 'RESOLVE_DISPUTE'; readonly nowMs: number; readonly sellerSats?: number; readonly by?: 'arbiter' | 'evidence' },
    events: Events,
  ): void {
    const phase = record.state.value as TxPhase;
    const next =
      event.type === 'RETIRE'
        ? this.txStepper.step(record.state, { type: 'RETIRE', nowMs: event.nowMs })
        : this.txStepper.step(record.state, { type: 'RESOLVE_DISPUTE', nowMs: event.nowMs, sellerSats: event.sellerSats! });
    assert(next.value === 'RETIRED', 'a transaction retires when due');
    const context = next.context;
    const settlement = context.settlement;
    assert(settlement !== null && context.retiredPhase === phase, 'a retired transaction has its settlement');
    // A seller is paid only against the buyer's signed receipt (checked when it arrived).
    if (settlement.sellerSats > 0) assert(context.encResultHashSig !== null, 'no payment without a receipt');
    // The seller's account appears with its first money (whatever the cap: transactions bound it).
    if (settlement.sellerSats > 0) this.ledger.ensureAccount(context.seller);
    this.ledger.settleHold(record.hold, { seller: context.seller, ...settlement }, context.txId, events);
    this.txs.delete(context.seq);
    this.disputed.delete(record);
    removeFrom(this.txsOf, context.buyer, record);
    removeFrom(this.txsOf, context.seller, record);
    this.countRetirement(context, phase, settlement, event.type === 'RESOLVE_DISPUTE');
    events.push({
      type: 'txRetired',
      txId: context.txId,
      phase,
      atMs: event.nowMs,
      sellerSats: settlement.sellerSats,
      feeSats: settlement.feeSats,
      refundSats: settlement.refundSats,
      byArbiter: event.by === 'arbiter',
      byEvidence: event.by === 'evidence',
    });
  }

  private countRetirement(context: TxContext, phase: TxPhase, settlement: TxSettlement, decided: boolean): void {
    const { counter, sellerLost, buyerLost } = retirementCounts(phase, context.priceSats, settlement, decided);
    const seller = this.reputationOf(context.seller);
    this.reputations.set(context.seller, { ...seller, sales: bump(seller.sales, counter, sellerLost) });
    const buyer = this.reputationOf(context.buyer);
    this.reputations.set(context.buyer, { ...buyer, purchases: bump(buyer.purchases, counter, buyerLost) });
  }

  /** A participant's public counts (zero for one that never traded). */
  reputationOf(address: string): Reputation {
    return this.reputations.get(address) ?? { address, sales: NO_TRADES, purchases: NO_TRADES };
  }

  // ---- Accounts (deposits and withdrawals: funds.ts) ---------------------------------------

  private checkInflow(participant: string, amountSats: number): Rejection {
    if (!isSats(amountSats) || amountSats === 0) return 'amount_invalid';
    if (-this.ledger.worldSats + amountSats > MONEY_SATS_MAX) return 'supply_exceeded';
    const exists = this.ledger.account(participant) !== undefined;
    if (!exists && this.ledger.accounts.size >= this.accountsMax) return 'accounts_full';
    return null;
  }

  private credit(command: CommandOf<'credit'>, events: Events): Rejection {
    assertAddress(command.participant);
    // Test errors by descending precedence.
    const rejection = this.checkInflow(command.participant, command.amountSats);
    if (rejection !== null) return rejection;
    this.ledger.ensureAccount(command.participant);
    this.ledger.transfer('credit', command.participant, command.participant, command.amountSats, 'credit', events);
    return null;
  }

  private setFrozen(command: CommandOf<'freezeAccount' | 'unfreezeAccount'>, events: Events): Rejection {
    assertAddress(command.participant);
    // Test errors by descending precedence.
    const account = this.ledger.account(command.participant);
    if (account === undefined) return 'account_not_found';
    const freeze = command.type === 'freezeAccount';
    if (freeze && account.state.value === 'frozen') return 'account_frozen';
    if (!freeze && account.state.value !== 'frozen') return 'account_not_frozen';
    if (!freeze && account.state.context.availableSats < 0) return 'account_overdrawn';
    this.ledger.setFrozen(command.participant, freeze);
    events.push({ type: freeze ? 'accountFrozen' : 'accountUnfrozen', participant: command.participant });
    return null;
  }

  // ---- Queries ---------------------------------------------------------------------------

  catalogue(): readonly ArticleSpec[] {
    return [...this.articles.values()].map((article) => article.spec).sort((a, b) => compareStrings(a.articleId, b.articleId));
  }

  depth(articleId: string, levelsMax: number): Depth | undefined {
    return this.articles.get(articleId)?.book.depth(levelsMax);
  }

  lastTrade(articleId: string): LastTrade | null | undefined {
    return this.articles.get(articleId)?.book.lastTrade;
  }

  /** Fees collected so far (the operator's ledger account). */
  get feesSats(): number {
    return this.ledger.feesSats;
  }

  account(address: string): AccountSnapshot | undefined {
    const record = this.ledger.account(address);
    return record === undefined ? undefined : { ...record.state.context, frozen: record.state.value === 'frozen' };
  }

  /** A resting bid; closed bids are gone (their events tell how they ended). */
  bid(bidId: string): BidSnapshot | undefined {
    const seq = seqOf(bidId, 'b');
    const record = seq === null ? undefined : this.bids.get(seq);
    return record === undefined ? undefined : { ...record.state.context, state: record.state.value };
  }

  /** An active transaction; retired ones are gone (txRetired tells how they ended). */
  transaction(txId: string): TxSnapshot | undefined {
    const record = this.liveTx(txId);
    return record === undefined ? undefined : { ...record.state.context, phase: record.state.value };
  }

  /** Transactions in RESULT_DISPUTED, oldest transaction first (what an arbiter decides), at most `limit`. */
  disputes(limit = 1000): TxSnapshot[] {
    return [...this.disputed]
      .sort((a, b) => a.state.context.seq - b.state.context.seq)
      .slice(0, limit)
      .map((record) => ({ ...record.state.context, phase: record.state.value }));
  }

  /** A participant's open bids and active transactions (what a restarted daemon reconciles with). */
  participantView(address: string, limit = 1000): { bids: BidSnapshot[]; transactions: TxSnapshot[] } {
    const bids: BidSnapshot[] = [];
    for (const record of this.bidsOf.get(address) ?? []) {
      if (bids.length >= limit) break;
      bids.push({ ...record.state.context, state: record.state.value });
    }
    const transactions: TxSnapshot[] = [];
    for (const record of this.txsOf.get(address) ?? []) {
      if (transactions.length >= limit) break;
      transactions.push({ ...record.state.context, phase: record.state.value });
    }
    return { bids, transactions };
  }

  /** Whether the participant has an open bid or an active transaction (O(1)). */
  isActive(address: string): boolean {
    return this.bidsOf.has(address) || this.txsOf.has(address);
  }

  private addBid(record: BidRecord): void {
    this.bids.set(record.seq, record);
    addTo(this.bidsOf, record.participant, record);
  }

  private addTx(seq: number, record: TxRecord): void {
    this.txs.set(seq, record);
    if (record.state.value === 'RESULT_DISPUTED') this.disputed.add(record); // restored mid-dispute
    addTo(this.txsOf, record.state.context.buyer, record);
    addTo(this.txsOf, record.state.context.seller, record);
  }

  stateHash(): string {
    return hashMarketState(this.exportState());
  }

  exportState(): MarketState {
    const byKey = <T>(map: Map<string, T>): [string, T][] => [...map].sort((a, b) => compareStrings(a[0], b[0]));
    const lastTrades = [];
    for (const [article, record] of byKey(this.articles)) {
      if (record.book.lastTrade !== null) lastTrades.push({ article, ...record.book.lastTrade });
    }
    return {
      version: MARKET_STATE_VERSION,
      nowMs: this.nowMs,
      bidSeq: this.bidSeq,
      txSeq: this.txSeq,
      openBidsPerArticleMax: this.openBidsPerArticleMax,
      articles: this.catalogue(),
      lastTrades,
      accounts: byKey(this.ledger.accounts).map(([address]) => this.account(address)!),
      bids: [...this.bids.values()]
        .sort((a, b) => a.seq - b.seq)
        .map((record) => ({ ...record.state.context, state: record.state.value })),
      transactions: [...this.txs.values()]
        .sort((a, b) => a.state.context.seq - b.state.context.seq)
        .map((record) => ({ ...record.state.context, phase: record.state.value })),
      holds: this.openHolds()
        .map(({ holdId, owner, amountSats }) => ({ holdId, owner, amountSats }))
        .sort((a, b) => compareStrings(a.holdId, b.holdId)),
      feesSats: this.ledger.feesSats,
      worldSats: this.ledger.worldSats,
      ...this.funds.exportState(),
      reputations: byKey(this.reputations).map(([, reputation]) => reputation),
    };
  }

  /** Rebuilds a core from exported state; its stateHash() equals the exporter's. */
  static fromState(state: MarketState, options: MarketCoreOptions): MarketCore {
    assert(state.version === MARKET_STATE_VERSION, `market state version ${state.version} is not supported`);
    const core = new MarketCore(options, {
      startMs: state.nowMs,
      articles: state.articles,
      openBidsPerArticleMax: state.openBidsPerArticleMax,
    });
    core.bidSeq = state.bidSeq;
    core.txSeq = state.txSeq;
    const holds = core.restoreLedger(state);
    core.restoreBooks(state, holds);
    for (const { phase, ...context } of state.transactions) {
      assert(phase !== 'RETIRED' && context.seq <= state.txSeq, 'exported transactions are active');
      const hold = holds.get(context.buyBidId);
      assert(hold !== undefined, 'an exported transaction has its hold');
      holds.delete(context.buyBidId);
      core.addTx(context.seq, { state: { value: phase, context }, hold });
      core.deadlines.pushTx(context.deadlineMs, context.seq, context.txId);
    }
    assert(holds.size === 0, 'every exported hold belongs to a resting BUY bid or a transaction');
    core.funds.restore(state);
    for (const reputation of state.reputations) core.reputations.set(reputation.address, reputation);
    core.checkInvariants();
    return core;
  }

  /** Restores accounts and balances; returns the holds by id, for their bids and transactions. */
  private restoreLedger(state: MarketState): Map<string, Hold> {
    for (const { frozen, ...context } of state.accounts) {
      this.ledger.restoreAccount({ value: frozen ? 'frozen' : 'active', context });
    }
    this.ledger.feesSats = state.feesSats;
    this.ledger.worldSats = state.worldSats;
    const holds = new Map<string, Hold>();
    for (const { holdId, owner, amountSats } of state.holds) {
      assert(!holds.has(holdId), 'hold ids are unique');
      holds.set(holdId, this.ledger.restoreHold(holdId, owner, amountSats));
    }
    return holds;
  }

  private restoreBooks(state: MarketState, holds: Map<string, Hold>): void {
    for (const { article, priceSats, txId, atMs } of state.lastTrades) {
      this.articles.get(article)!.book.lastTrade = { priceSats, txId, atMs };
    }
    for (const { state: value, ...context } of state.bids) {
      assert(value === 'placed' && context.seq <= state.bidSeq, 'exported bids are resting');
      const { bidId, seq, participant, side, priceSats, expiresMs } = context;
      const hold = side === 'BUY' ? holds.get(bidId) ?? null : null;
      assert((side === 'BUY') === (hold !== null), 'a resting BUY bid, and only a BUY, has its hold');
      holds.delete(bidId);
      const avoid = context.avoid === undefined || context.avoid.length === 0 ? null : new Set(context.avoid);
      const record: BidRecord = { bidId, seq, participant, side, priceSats, expiresMs, heapIndex: -1, state: { value, context }, hold, avoid };
      const article = this.articles.get(context.article)!;
      article.book.insert(record);
      this.addBid(record);
      article.openBids.set(participant, (article.openBids.get(participant) ?? 0) + 1);
      this.deadlines.expireInLane(article.lane, record);
    }
  }

  /**
   * Checks the whole state against the money and book invariants (docs/market-rules.md,
   * "Invariants"); throws AssertionError on the first violation. O(state): for tests, the
   * simulator and restores, not for every command in production.
   */
  checkInvariants(): void {
    const holds = this.openHolds();
    const heldByOwner = new Map<string, number>();
    for (const hold of holds) heldByOwner.set(hold.owner, (heldByOwner.get(hold.owner) ?? 0) + hold.amountSats);
    let totalSats = this.ledger.feesSats + this.ledger.worldSats;
    let owingSats = 0;
    for (const [address, record] of this.ledger.accounts) {
      const c = record.state.context;
      owingSats += Math.max(0, -c.availableSats);
      for (const bucket of [c.heldSats, c.depositPendingSats, c.payoutPendingSats]) {
        assert(isSats(bucket), `${address}: every balance is whole and non-negative`);
        totalSats += bucket;
      }
      // Only a reversed deposit makes available negative, and it freezes the account.
      assert(Number.isSafeInteger(c.availableSats) && (c.availableSats >= 0 || record.state.value === 'frozen'), `${address}: available is whole, and negative only when frozen`);
      totalSats += c.availableSats;
      assert(c.heldSats === (heldByOwner.get(address) ?? 0), `${address}: held equals the sum of its holds`);
    }
    for (const [address, record] of this.ledger.accounts) assert(!isEmpty(record.state), `${address}: an account that holds nothing and is not frozen is gone`);
    this.funds.checkInvariants();
    assert(totalSats === 0, `money is conserved (all ledger accounts sum to ${totalSats}, not 0)`);
    // Money inside is never negative, except by what overdrawn accounts owe (a credit reversed
    // after it was spent, perhaps paid out: the exchange lost that on chain).
    assert(this.ledger.feesSats >= 0 && this.ledger.worldSats <= owingSats, 'fees are not negative; the world holds no more than overdrawn accounts owe');
    for (const [, record] of this.bids) {
      const c = record.state.context;
      assert(record.state.value === 'placed' && record.heapIndex >= 0, `${c.bidId} rests in the book`);
      assert(c.expiresMs > this.nowMs, `${c.bidId} is past its expiry and still rests`);
      assert(c.side === 'SELL' || record.hold?.amountSats === c.holdSats, `${c.bidId} holds its price + fee`);
    }
    for (const [, record] of this.txs) {
      const c = record.state.context;
      assert(c.deadlineMs > this.nowMs, `${c.txId} is past its deadline and not retired`);
      assert(record.hold.amountSats === c.priceSats + c.feeSats, `${c.txId} holds price + fee`);
      assert(record.hold.holdId === c.buyBidId && record.hold.owner === c.buyer, `${c.txId} holds the buyer's money`);
      assert(this.disputed.has(record) === (record.state.value === 'RESULT_DISPUTED'), `${c.txId}: the dispute index matches its phase`);
    }
    for (const record of this.disputed) assert(this.txs.get(record.state.context.seq) === record, 'indexed disputes are active');
    assert(holds.every((hold) => hold.open), 'live bids and transactions hold open holds');
    let booked = 0;
    for (const [, article] of this.articles) booked += article.book.size;
    assert(booked === this.bids.size, 'the books hold exactly the resting bids');
    let indexedBids = 0;
    for (const [participant, records] of this.bidsOf) {
      for (const record of records) assert(record.participant === participant && this.bids.get(record.seq) === record, `${participant}: indexed bids rest`);
      indexedBids += records.size;
    }
    assert(indexedBids === this.bids.size, 'every resting bid is indexed under its participant');
    let indexedTxs = 0;
    for (const [participant, records] of this.txsOf) {
      for (const record of records) {
        const c = record.state.context;
        assert((c.buyer === participant || c.seller === participant) && this.txs.get(c.seq) === record, `${participant}: indexed transactions are its own and active`);
        indexedTxs += c.buyer === c.seller ? 2 : 1;
      }
    }
    assert(indexedTxs === 2 * this.txs.size, 'every active transaction is indexed under both parties');
  }

  private openHolds(): Hold[] {
    const holds: Hold[] = [];
    for (const [, record] of this.bids) if (record.hold !== null) holds.push(record.hold);
    for (const [, record] of this.txs) holds.push(record.hold);
    return holds;
  }
}

/** An active account with no money in any bucket (such an account does not exist). */
function isEmpty(state: { readonly value: string; readonly context: AccountSnapshotContext }): boolean {
  const c = state.context;
  return state.value !== 'frozen' && c.availableSats === 0 && c.heldSats === 0 && c.depositPendingSats === 0 && c.payoutPendingSats === 0;
}

type AccountSnapshotContext = Omit<AccountSnapshot, 'frozen'>;

function addTo<T>(index: Map<string, Set<T>>, key: string, value: T): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<T>(index: Map<string, Set<T>>, key: string, value: T): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}

function newArticleRecord(spec: ArticleSpec): ArticleRecord {
  return { spec: copyArticle(spec), book: new OrderBook(), openBids: new Map(), lane: new ExpiryLane() };
}

/** The sequence number in an id this core issues ("b12" → 12), or null for any other value. */
function seqOf(id: unknown, prefix: 'b' | 't'): number | null {
  if (typeof id !== 'string' || id.length < 2 || id.length > 16 || id.charCodeAt(0) !== prefix.charCodeAt(0)) return null;
  if (id.charCodeAt(1) === 48) return null; // No leading zero: one id per number.
  for (let index = 1; index < id.length; index++) {
    const code = id.charCodeAt(index);
    if (code < 48 || code > 57) return null;
  }
  return Number(id.slice(1));
}


/** An avoid list: BUY only, at most AVOID_SELLERS_MAX distinct addresses (the server checks their form). */
function avoidListValid(side: string, avoid: readonly string[]): boolean {
  if (side !== 'BUY' || !Array.isArray(avoid) || avoid.length > AVOID_SELLERS_MAX) return false;
  if (!avoid.every((address) => typeof address === 'string' && address.length > 0 && address.length <= ADDRESS_CHARS_MAX)) return false;
  return new Set(avoid).size === avoid.length;
}

/**
 * Whom a new bid may be paired with: undefined when anyone (no avoid list can be involved on its
 * side), else a check of the resting bid. A new BUY skips the sellers it avoids; a new SELL skips
 * the resting BUYs that avoid its participant.
 */
function pairsWith(incoming: BidRecord): ((resting: BidRecord) => boolean) | undefined {
  if (incoming.side === 'BUY') {
    const avoid = incoming.avoid;
    return avoid === null ? undefined : (resting) => !avoid.has(resting.participant);
  }
  const seller = incoming.participant;
  return (resting) => resting.avoid === null || !resting.avoid.has(seller);
}

/** Participants arrive authenticated; a malformed one is the host's bug. */
function assertAddress(address: string): void {
  assert(typeof address === 'string' && address.length > 0 && address.length <= ADDRESS_CHARS_MAX, 'participant address');
}
