// A naive, obviously correct market: the oracle the fast core is compared with (STYLE.md
// example 11, after exchange-core's reference book). Plain arrays scanned in full, its own
// phase table, its own fee arithmetic (BigInt), its own hashing of the work secret, and no
// XState. It accepts the same commands and exports the same MarketState, so two runs agree
// exactly when their stateHash() values agree. Slow on purpose; never use it to serve.
// Shared with the core only: the wire-format field checks (tx-messages.ts, tested on their
// own), the article validity check, the limits and the state encoding.
import { sha256 } from '@noble/hashes/sha2.js';
import { articleProblem, copyArticle } from '../../../src/market/articles.js';
import type { ArticleSpec } from '../../../src/market/articles.js';
import type { MarketCommand } from '../../../src/market/commands.js';
import type { VerifyReceipt } from '../../../src/market/core.js';
import { ACCOUNTS_MAX, ARTICLES_MAX, AVOID_SELLERS_MAX, DEPOSIT_ADDRESSES_MAX, DEPOSIT_ADDRESSES_UNUSED_MAX, DEPOSIT_SATS_MIN, OPEN_BIDS_MAX, MONEY_SATS_MAX, OPEN_BIDS_PER_ARTICLE_DEFAULT, REFERENCE_CHARS_MAX } from '../../../src/market/limits.js';
import type { RejectionName } from '../../../src/market/rejections.js';
import { compareStrings, hashMarketState, MARKET_STATE_VERSION } from '../../../src/market/state.js';
import { parseBlenderArticle } from '../../../src/market/blender-articles.js';
import type { AccountSnapshot, BidSnapshot, MarketState, TxSnapshot, WithdrawalSnapshot } from '../../../src/market/state.js';
import { isTxMessageType, txFieldsValid } from '../../../src/market/tx-messages.js';
import type { TxMessageType } from '../../../src/market/tx-messages.js';
import type { TxPhase } from '../../../src/machines/transaction.js';
import type { WithdrawalValue } from '../../../src/machines/withdrawal.js';

/** The article family whose results are replicable (src/market/evidence.ts says so for the core). */
const REPLICABLE_FAMILY = 'net.bitwrk/test/hash/';

type Counts = { finished: number; disputed: number; disputesLost: number; workRejected: number; timedOut: number };
const zeroCounts = (): Counts => ({ finished: 0, disputed: 0, disputesLost: 0, workRejected: 0, timedOut: 0 });

const MINUTE_MS = 60_000;
const DISPUTE_WINDOW_MS = 7 * 24 * 60 * MINUTE_MS;

/** Which party sends each message, and the phase it moves the transaction from and to. */
const PHASE_TABLE: Record<TxMessageType, { sender: 'buyer' | 'seller'; moves: Partial<Record<TxPhase, TxPhase>> }> = {
  workhash: { sender: 'buyer', moves: { ESTABLISHING: 'BUYER_ESTABLISHED', SELLER_ESTABLISHED: 'TRANSMITTING' } },
  workerurl: { sender: 'seller', moves: { ESTABLISHING: 'SELLER_ESTABLISHED', BUYER_ESTABLISHED: 'TRANSMITTING' } },
  buyersecret: { sender: 'seller', moves: { BUYER_ESTABLISHED: 'WORKING', TRANSMITTING: 'WORKING' } },
  rejectwork: {
    sender: 'seller',
    moves: { SELLER_ESTABLISHED: 'WORK_DISPUTED', TRANSMITTING: 'WORK_DISPUTED', WORKING: 'WORK_DISPUTED' },
  },
  encresult: { sender: 'seller', moves: { WORKING: 'UNVERIFIED' } },
  rejectresult: { sender: 'buyer', moves: { UNVERIFIED: 'RESULT_DISPUTED' } },
  acceptresult: { sender: 'buyer', moves: { UNVERIFIED: 'FINISHED' } },
};

type Account = { -readonly [K in keyof AccountSnapshot]: AccountSnapshot[K] };
type Bid = { -readonly [K in keyof BidSnapshot]: BidSnapshot[K] };
type Tx = { -readonly [K in keyof TxSnapshot]: TxSnapshot[K] };
/** The withdrawal machine's transitions, restated: state → step → next state. */
const WITHDRAWAL_STEPS: Partial<Record<WithdrawalValue, Partial<Record<string, WithdrawalValue>>>> = {
  requested: { APPROVE: 'approved', FAIL: 'failed' },
  approved: { BATCH: 'batched', FAIL: 'failed' },
  batched: { SIGN: 'signed', FAIL: 'failed' },
  signed: { BROADCAST: 'broadcast', FAIL: 'failed' },
  broadcast: { CONFIRM: 'confirmed', CONFLICT: 'conflicted' },
  confirmed: { COMPLETE: 'completed', REORG: 'broadcast' },
  conflicted: { FAIL: 'failed' },
  failed: { REFUND: 'refunded' },
};
type Result = { status: 'accepted' } | { status: 'rejected'; rejection: RejectionName };

function fee(priceSats: number, article: ArticleSpec): number {
  const product = BigInt(priceSats) * BigInt(article.feeNumerator);
  const denominator = BigInt(article.feeDenominator);
  return Number((product + denominator - 1n) / denominator);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export class ReferenceMarket {
  nowMs: number;
  bidSeq = 0;
  txSeq = 0;
  readonly limit: number;
  articles: ArticleSpec[] = [];
  lastTrades: { article: string; priceSats: number; txId: string; atMs: number }[] = [];
  accounts: Account[] = [];
  bids: Bid[] = [];
  txs: Tx[] = [];
  holds: { holdId: string; owner: string; amountSats: number }[] = [];
  feesSats = 0;
  worldSats = 0;
  depositIndexNext = 0;
  addresses: { index: number; address: string; participant: string; used: boolean }[] = [];
  deposits: { id: string; participant: string; address: string; amountSats: number; block: { height: number; hash: string } | null }[] = [];
  closedDeposits: string[] = [];
  withdrawalSeq = 0;
  withdrawals: (WithdrawalSnapshot & { state: WithdrawalValue; batchId: string | null; txid: string | null; block: { height: number; hash: string } | null; reason: string | null })[] = [];
  withdrawalKeys: { participant: string; key: string; withdrawalId: string; destination: string; amountSats: number }[] = [];
  withdrawalPolicy = { dailyLimitSats: MONEY_SATS_MAX, manualAboveSats: MONEY_SATS_MAX, newDestinationDelayMs: 0 };
  withdrawalHistory: { participant: string; atMs: number; amountSats: number }[] = [];
  withdrawalDestinations: { participant: string; destination: string }[] = [];
  /** address → [sales, purchases], each counter name → count (the core's reputation.ts, restated). */
  reputations = new Map<string, { sales: Counts; purchases: Counts }>();

  constructor(
    private readonly verifyReceipt: VerifyReceipt,
    config: { startMs?: number; articles?: readonly ArticleSpec[]; openBidsPerArticleMax?: number } = {},
  ) {
    this.nowMs = config.startMs ?? 0;
    this.limit = config.openBidsPerArticleMax ?? OPEN_BIDS_PER_ARTICLE_DEFAULT;
    this.articles = (config.articles ?? []).map(copyArticle);
  }

  execute(command: MarketCommand): Result {
    this.passTime(command.nowMs);
    const rejection = this.apply(command);
    return rejection === null ? { status: 'accepted' } : { status: 'rejected', rejection };
  }

  stateHash(): string {
    return hashMarketState(this.exportState());
  }

  // ---- Time: repeatedly handle the earliest due thing ------------------------------------

  private passTime(targetMs: number): void {
    for (;;) {
      const expiring = this.bids.filter((bid) => bid.expiresMs <= targetMs);
      const dueTxs = this.txs.filter((tx) => tx.deadlineMs <= targetMs);
      const firstBid = expiring.sort((a, b) => a.expiresMs - b.expiresMs || a.seq - b.seq)[0];
      const firstTx = dueTxs.sort((a, b) => a.deadlineMs - b.deadlineMs || a.seq - b.seq)[0];
      if (firstBid === undefined && firstTx === undefined) break;
      if (firstBid !== undefined && (firstTx === undefined || firstBid.expiresMs <= firstTx.deadlineMs)) {
        this.nowMs = firstBid.expiresMs;
        this.closeBid(firstBid);
      } else {
        this.nowMs = firstTx!.deadlineMs;
        this.retire(firstTx!, null);
      }
    }
    this.nowMs = targetMs;
  }

  private closeBid(bid: Bid): void {
    this.bids = this.bids.filter((other) => other !== bid);
    if (bid.side === 'BUY') this.releaseHold(bid.bidId, bid.participant);
  }

  private releaseHold(holdId: string, owner: string): void {
    const hold = this.holds.find((h) => h.holdId === holdId)!;
    const account = this.accountOrNew(owner);
    account.heldSats -= hold.amountSats;
    account.availableSats += hold.amountSats;
    this.holds = this.holds.filter((h) => h !== hold);
  }

  private retire(tx: Tx, arbiterSellerSats: number | null): void {
    this.count(tx, arbiterSellerSats);
    const phase = tx.phase as TxPhase;
    let sellerSats = 0;
    let feeSats = 0;
    if (arbiterSellerSats !== null) {
      sellerSats = arbiterSellerSats;
      feeSats = tx.feeSats;
    } else if (phase === 'FINISHED' || phase === 'UNVERIFIED') {
      sellerSats = tx.priceSats;
      feeSats = tx.feeSats;
    } else if (phase === 'RESULT_DISPUTED') {
      feeSats = tx.feeSats + tx.priceSats; // nobody decided: neither side gets the price
    }
    const buyer = this.accountOrNew(tx.buyer);
    const hold = this.holds.find((h) => h.holdId === tx.buyBidId)!;
    buyer.heldSats -= hold.amountSats;
    buyer.availableSats += hold.amountSats - sellerSats - feeSats;
    this.accountOrNew(tx.seller).availableSats += sellerSats;
    this.feesSats += feeSats;
    this.holds = this.holds.filter((h) => h !== hold);
    this.txs = this.txs.filter((other) => other !== tx);
  }

  private count(tx: Tx, decidedSellerSats: number | null): void {
    const phase = tx.phase as TxPhase;
    const counter = phase === 'FINISHED' || phase === 'UNVERIFIED' ? 'finished' : phase === 'WORK_DISPUTED' ? 'workRejected' : phase === 'RESULT_DISPUTED' ? 'disputed' : 'timedOut';
    const side = (address: string, which: 'sales' | 'purchases', lost: boolean): void => {
      const entry = this.reputations.get(address) ?? { sales: zeroCounts(), purchases: zeroCounts() };
      entry[which][counter] += 1;
      if (lost) entry[which].disputesLost += 1;
      this.reputations.set(address, entry);
    };
    side(tx.seller, 'sales', decidedSellerSats !== null && decidedSellerSats * 2 < tx.priceSats);
    side(tx.buyer, 'purchases', decidedSellerSats !== null && decidedSellerSats * 2 > tx.priceSats);
  }

  /** Evidence by majority of other sellers' results for the same work (market-rules §6), restated. */
  private submitEvidence(command: Extract<MarketCommand, { type: 'submitEvidence' }>): RejectionName | null {
    const tx = this.txs.find((t) => t.txId === command.txId);
    if (tx === undefined) return this.issued(command.txId, 't', this.txSeq) ? 'tx_retired' : 'tx_not_found';
    if (command.participant !== tx.buyer) return command.participant === tx.seller ? 'tx_wrong_sender' : 'tx_not_party';
    if (tx.phase !== 'RESULT_DISPUTED') return 'tx_not_disputed';
    // Replicable: the test family (deterministic hashing) and Blender tiles (the pinned kernel, normalised EXR).
    if (!tx.article.startsWith(REPLICABLE_FAMILY) && parseBlenderArticle(tx.article) === undefined) return 'tx_evidence_not_replicable';
    const { witnesses } = command;
    if (witnesses.length < 2 || witnesses.length > 4) return 'tx_evidence_invalid';
    const sellers = [tx.seller];
    const hashes = [tx.resultHash];
    for (const id of witnesses) {
      const w = this.txs.find((t) => t.txId === id);
      if (w === undefined || (w.phase !== 'UNVERIFIED' && w.phase !== 'RESULT_DISPUTED')) return 'tx_evidence_invalid';
      if (w.buyer !== tx.buyer || w.article !== tx.article || w.workHash !== tx.workHash || w.resultHash === null || sellers.includes(w.seller)) return 'tx_evidence_invalid';
      sellers.push(w.seller);
      hashes.push(w.resultHash);
    }
    const winner = hashes.find((hash) => 2 * hashes.filter((h) => h === hash).length > hashes.length);
    if (winner === undefined) return 'tx_evidence_inconclusive';
    tx.revision += 1;
    this.retire(tx, winner === tx.resultHash ? tx.priceSats : 0);
    return null;
  }

  // ---- Commands --------------------------------------------------------------------------

  private apply(command: MarketCommand): RejectionName | null {
    switch (command.type) {
      case 'advanceTime':
        return null;
      case 'defineArticle': {
        const spec = command.article;
        if (typeof spec !== 'object' || spec === null || articleProblem(spec) !== null) return 'article_invalid';
        if (this.articles.some((a) => a.articleId === spec.articleId)) return 'article_exists';
        if (this.articles.length >= ARTICLES_MAX) return 'articles_full';
        this.articles.push(copyArticle(spec));
        return null;
      }
      case 'placeBid':
        return this.placeBid(command);
      case 'withdrawBid': {
        const bid = this.bids.find((b) => b.bidId === command.bidId);
        if (bid === undefined) return this.issued(command.bidId, 'b', this.bidSeq) ? 'bid_closed' : 'bid_not_found';
        if (bid.participant !== command.participant) return 'bid_not_owner';
        this.closeBid(bid);
        return null;
      }
      case 'txMessage':
        return this.txMessage(command);
      case 'resolveDispute': {
        const tx = this.txs.find((t) => t.txId === command.txId);
        if (tx === undefined) return this.issued(command.txId, 't', this.txSeq) ? 'tx_retired' : 'tx_not_found';
        if (tx.phase !== 'RESULT_DISPUTED') return 'tx_not_disputed';
        const share = command.sellerSats;
        if (!Number.isSafeInteger(share) || share < 0 || share > tx.priceSats) return 'tx_share_invalid';
        tx.revision += 1;
        this.retire(tx, share);
        return null;
      }
      case 'submitEvidence':
        return this.submitEvidence(command);
      default:
        return this.applyMoney(command);
    }
  }

  private placeBid(command: Extract<MarketCommand, { type: 'placeBid' }>): RejectionName | null {
    const article = this.articles.find((a) => a.articleId === command.article);
    if (article === undefined) return 'article_unknown';
    if (command.side !== 'BUY' && command.side !== 'SELL') return 'bid_side_invalid';
    const price = command.priceSats;
    if (!Number.isSafeInteger(price) || price < 0 || price > MONEY_SATS_MAX) return 'bid_price_invalid';
    if (price < article.priceSatsMin || price > article.priceSatsMax) return 'bid_price_out_of_range';
    let account = this.account(command.participant);
    if (account?.frozen === true) return 'account_frozen';
    const open = this.bids.filter((b) => b.participant === command.participant && b.article === command.article);
    if (open.length >= this.limit) return 'bid_limit_reached';
    if (this.bids.length >= OPEN_BIDS_MAX) return 'bid_book_full';
    const avoid = command.avoid ?? [];
    if (command.avoid !== undefined && (command.side !== 'BUY' || avoid.length > AVOID_SELLERS_MAX || new Set(avoid).size !== avoid.length)) return 'bid_avoid_invalid';
    const feeSats = fee(price, article);
    if (command.side === 'BUY' && (account?.availableSats ?? 0) < price + feeSats) return 'insufficient_funds';
    account = account ?? this.accountOrNew(command.participant);
    this.bidSeq += 1;
    const bid: Bid = {
      bidId: `b${this.bidSeq}`,
      seq: this.bidSeq,
      participant: command.participant,
      article: command.article,
      side: command.side,
      priceSats: price,
      feeSats,
      holdSats: command.side === 'BUY' ? price + feeSats : 0,
      createdMs: this.nowMs,
      expiresMs: this.nowMs + article.bidLifetimeMs,
      txId: null,
      closedMs: null,
      ...(avoid.length === 0 ? {} : { avoid }),
      state: 'placed',
    };
    if (bid.side === 'BUY') {
      account.availableSats -= bid.holdSats;
      account.heldSats += bid.holdSats;
      this.holds.push({ holdId: bid.bidId, owner: bid.participant, amountSats: bid.holdSats });
    }
    const resting = this.bestCounterpart(bid);
    if (resting === undefined) this.bids.push(bid);
    else this.trade(bid, resting, article);
    return null;
  }

  /** Sort every crossing opposite bid by price, then expiry, then arrival; take the first. */
  private bestCounterpart(bid: Bid): Bid | undefined {
    const crossing = this.bids.filter(
      (other) =>
        other.article === bid.article &&
        other.side !== bid.side &&
        // A BUY's avoid list names sellers it is never paired with, whichever bid came first.
        !(bid.side === 'BUY' ? bid : other).avoid?.includes((bid.side === 'BUY' ? other : bid).participant) &&
        (bid.side === 'BUY' ? other.priceSats <= bid.priceSats : other.priceSats >= bid.priceSats),
    );
    crossing.sort(
      (a, b) =>
        (bid.side === 'BUY' ? a.priceSats - b.priceSats : b.priceSats - a.priceSats) ||
        a.expiresMs - b.expiresMs ||
        a.seq - b.seq,
    );
    return crossing[0];
  }

  private trade(incoming: Bid, resting: Bid, article: ArticleSpec): void {
    this.bids = this.bids.filter((b) => b !== resting);
    const buy = incoming.side === 'BUY' ? incoming : resting;
    const sell = incoming.side === 'BUY' ? resting : incoming;
    const priceSats = resting.priceSats;
    const feeSats = fee(priceSats, article);
    const hold = this.holds.find((h) => h.holdId === buy.bidId)!;
    const refund = hold.amountSats - priceSats - feeSats;
    hold.amountSats -= refund;
    const buyer = this.accountOrNew(buy.participant);
    buyer.heldSats -= refund;
    buyer.availableSats += refund;
    this.txSeq += 1;
    const txId = `t${this.txSeq}`;
    this.txs.push({
      txId,
      seq: this.txSeq,
      article: article.articleId,
      buyer: buy.participant,
      seller: sell.participant,
      buyBidId: buy.bidId,
      sellBidId: sell.bidId,
      priceSats,
      feeSats,
      createdMs: this.nowMs,
      deadlineMs: this.nowMs + MINUTE_MS,
      revision: 0,
      workHash: null,
      workSecretHash: null,
      workerUrl: null,
      buyerSecret: null,
      encResultHash: null,
      encResultHashSig: null,
      encResultKey: null,
      resultHash: null,
      rejectReason: null,
      retiredPhase: null,
      retiredMs: null,
      settlement: null,
      phase: 'ESTABLISHING',
    });
    this.lastTrades = this.lastTrades.filter((t) => t.article !== article.articleId);
    this.lastTrades.push({ article: article.articleId, priceSats, txId, atMs: this.nowMs });
  }

  private txMessage(command: Extract<MarketCommand, { type: 'txMessage' }>): RejectionName | null {
    const { message, fields, participant } = command;
    if (!isTxMessageType(message)) return 'tx_message_unknown';
    if (!txFieldsValid(message, fields)) return 'tx_fields_invalid';
    const tx = this.txs.find((t) => t.txId === command.txId);
    if (tx === undefined) return this.issued(command.txId, 't', this.txSeq) ? 'tx_retired' : 'tx_not_found';
    if (participant !== tx.buyer && participant !== tx.seller) return 'tx_not_party';
    const rule = PHASE_TABLE[message];
    if (participant !== (rule.sender === 'buyer' ? tx.buyer : tx.seller)) return 'tx_wrong_sender';
    const target = rule.moves[tx.phase as TxPhase];
    if (target === undefined) return 'tx_wrong_phase';
    if (message === 'buyersecret') {
      const digest = hex(sha256(Buffer.from(tx.workHash! + fields['buyersecret']!, 'hex')));
      if (digest !== tx.workSecretHash) return 'tx_secret_mismatch';
    }
    if (message === 'encresult' && !this.verifyReceipt(tx.buyer, fields['encresulthash']!, fields['encresulthashsig']!)) {
      return 'tx_receipt_invalid';
    }
    this.record(tx, message, fields);
    tx.revision += 1;
    tx.phase = target;
    if (target === 'TRANSMITTING') tx.deadlineMs += 2 * MINUTE_MS;
    if (target === 'WORKING') tx.deadlineMs += 5 * MINUTE_MS;
    if (target === 'UNVERIFIED') tx.deadlineMs += 15 * MINUTE_MS;
    if (target === 'RESULT_DISPUTED') tx.deadlineMs = this.nowMs + DISPUTE_WINDOW_MS;
    if (target === 'FINISHED' || target === 'WORK_DISPUTED') this.retire(tx, null);
    return null;
  }

  private record(tx: Tx, message: TxMessageType, fields: Readonly<Record<string, string>>): void {
    if (message === 'workhash') {
      tx.workHash = fields['workhash']!;
      tx.workSecretHash = fields['worksecrethash']!;
    }
    if (message === 'workerurl') tx.workerUrl = fields['workerurl']!;
    if (message === 'buyersecret') tx.buyerSecret = fields['buyersecret']!;
    if (message === 'encresult') {
      tx.encResultHash = fields['encresulthash']!;
      tx.encResultHashSig = fields['encresulthashsig']!;
      tx.encResultKey = fields['encresultkey']!;
      tx.resultHash = fields['resulthash']!;
    }
    if (message === 'rejectwork' || message === 'rejectresult') tx.rejectReason = fields['reason']!;
  }

  private applyMoney(command: MarketCommand): RejectionName | null {
    switch (command.type) {
      case 'credit': {
        const rejection = this.inflow(command.participant, command.amountSats);
        if (rejection !== null) return rejection;
        this.accountOrNew(command.participant).availableSats += command.amountSats;
        this.worldSats -= command.amountSats;
        return null;
      }
      case 'requestDepositAddress': {
        const unused = this.addresses.filter((a) => a.participant === command.participant && !a.used);
        if (unused.length >= DEPOSIT_ADDRESSES_UNUSED_MAX) return null; // the newest unused one again
        if (this.addresses.length >= DEPOSIT_ADDRESSES_MAX) return 'deposit_addresses_full';
        this.addresses.push({ index: this.depositIndexNext++, address: command.address, participant: command.participant, used: false });
        return null;
      }
      case 'depositSeen': {
        if (!this.reference(command.depositId)) return 'reference_invalid';
        if (!this.positive(command.amountSats)) return 'amount_invalid';
        const address = this.addresses.find((a) => a.address === command.address);
        if (address === undefined) return 'deposit_address_unknown';
        const id = command.depositId;
        if (this.deposits.some((d) => d.id === id) || this.closedDeposits.includes(id)) return 'deposit_duplicate';
        if (command.amountSats < DEPOSIT_SATS_MIN) {
          address.used = true;
          this.closedDeposits.push(id);
          return null;
        }
        const rejection = this.inflow(address.participant, command.amountSats);
        if (rejection !== null) return rejection;
        address.used = true;
        this.accountOrNew(address.participant).depositPendingSats += command.amountSats;
        this.worldSats -= command.amountSats;
        this.deposits.push({ id, participant: address.participant, address: address.address, amountSats: command.amountSats, block: null });
        return null;
      }
      case 'depositConfirmed':
      case 'depositDropped': {
        const deposit = this.deposits.find((d) => d.id === command.depositId && d.block === null);
        if (deposit === undefined) return 'deposit_not_found';
        const account = this.accountOrNew(deposit.participant);
        account.depositPendingSats -= deposit.amountSats;
        if (command.type === 'depositConfirmed') {
          account.availableSats += deposit.amountSats;
          deposit.block = { ...command.block };
        } else {
          this.worldSats += deposit.amountSats;
          this.deposits = this.deposits.filter((d) => d !== deposit);
        }
        return null;
      }
      case 'depositMoved':
      case 'depositReversed':
      case 'depositFinal': {
        const deposit = this.deposits.find((d) => d.id === command.depositId && d.block !== null);
        if (deposit === undefined) return 'deposit_not_credited';
        if (command.type === 'depositMoved') {
          deposit.block = { ...command.block };
          return null;
        }
        this.deposits = this.deposits.filter((d) => d !== deposit);
        if (command.type === 'depositFinal') {
          this.closedDeposits.push(deposit.id);
          return null;
        }
        const account = this.accountOrNew(deposit.participant);
        account.availableSats -= deposit.amountSats;
        this.worldSats += deposit.amountSats;
        if (account.availableSats < 0) account.frozen = true;
        return null;
      }
      default:
        return this.applyAccount(command);
    }
  }

  private applyAccount(command: MarketCommand): RejectionName | null {
    switch (command.type) {
      case 'requestWithdrawal': {
        if (!this.reference(command.key)) return 'reference_invalid';
        if (!this.positive(command.amountSats)) return 'amount_invalid';
        const earlier = this.withdrawalKeys.find((k) => k.participant === command.participant && k.key === command.key);
        if (earlier !== undefined) return earlier.destination === command.destination && earlier.amountSats === command.amountSats ? null : 'withdrawal_key_reused';
        const account = this.account(command.participant);
        if (account === undefined) return 'account_not_found';
        if (account.frozen) return 'account_frozen';
        if (account.availableSats < command.amountSats) return 'insufficient_funds';
        const { participant, key, destination, amountSats } = command;
        this.withdrawalHistory = this.withdrawalHistory.filter((h) => h.participant !== participant || h.atMs > this.nowMs - 86_400_000);
        const inDay = this.withdrawalHistory.filter((h) => h.participant === participant).reduce((sum, h) => sum + h.amountSats, 0);
        if (inDay + amountSats > this.withdrawalPolicy.dailyLimitSats) return 'withdrawal_daily_limit';
        account.availableSats -= command.amountSats;
        account.payoutPendingSats += command.amountSats;
        const withdrawalId = `w${++this.withdrawalSeq}`;
        this.withdrawalHistory.push({ participant, atMs: this.nowMs, amountSats });
        const review = amountSats > this.withdrawalPolicy.manualAboveSats ? 'manual' as const : 'auto' as const;
        const paidBefore = this.withdrawalDestinations.some((d) => d.participant === participant && d.destination === destination);
        const notBeforeMs = paidBefore ? this.nowMs : this.nowMs + this.withdrawalPolicy.newDestinationDelayMs;
        this.withdrawals.push({ withdrawalId, participant, key, destination, amountSats, createdMs: this.nowMs, review, notBeforeMs, batchId: null, txid: null, block: null, reason: null, state: 'requested' });
        this.withdrawalKeys.push({ participant, key, withdrawalId, destination, amountSats });
        return null;
      }
      case 'setWithdrawalPolicy': {
        const p = command.policy;
        const whole = (n: number) => Number.isSafeInteger(n) && n >= 0;
        if (!(whole(p.dailyLimitSats) && p.dailyLimitSats <= MONEY_SATS_MAX && whole(p.manualAboveSats) && p.manualAboveSats <= MONEY_SATS_MAX && whole(p.newDestinationDelayMs) && p.newDestinationDelayMs <= 30 * 86_400_000)) return 'withdrawal_policy_invalid';
        this.withdrawalPolicy = { ...p };
        return null;
      }
      case 'withdrawalStep': {
        const withdrawal = this.withdrawals.find((w) => w.withdrawalId === command.withdrawalId);
        if (withdrawal === undefined) return 'withdrawal_not_found';
        const step = command.step;
        if (step.type === 'APPROVE' && withdrawal.state === 'requested' && step.by === 'processor' && (withdrawal.review === 'manual' || this.nowMs < withdrawal.notBeforeMs)) return 'withdrawal_needs_approval';
        const next = WITHDRAWAL_STEPS[withdrawal.state]?.[step.type];
        if (next === undefined) return 'withdrawal_wrong_state';
        withdrawal.state = next;
        if (step.type === 'BATCH') withdrawal.batchId = step.batchId;
        if (step.type === 'SIGN') withdrawal.txid = step.txid;
        if (step.type === 'CONFIRM') {
          withdrawal.txid = step.txid;
          withdrawal.block = { ...step.block };
        }
        if (step.type === 'REORG') withdrawal.block = null;
        if (step.type === 'FAIL') withdrawal.reason = step.reason;
        if (next === 'completed' || next === 'refunded') {
          const account = this.accountOrNew(withdrawal.participant);
          account.payoutPendingSats -= withdrawal.amountSats;
          if (next === 'completed') {
            this.worldSats += withdrawal.amountSats;
            if (!this.withdrawalDestinations.some((d) => d.participant === withdrawal.participant && d.destination === withdrawal.destination)) this.withdrawalDestinations.push({ participant: withdrawal.participant, destination: withdrawal.destination });
          }
          else account.availableSats += withdrawal.amountSats;
          this.withdrawals = this.withdrawals.filter((w) => w !== withdrawal);
        }
        return null;
      }
      case 'freezeAccount':
      case 'unfreezeAccount': {
        const account = this.account(command.participant);
        if (account === undefined) return 'account_not_found';
        const freeze = command.type === 'freezeAccount';
        if (freeze && account.frozen) return 'account_frozen';
        if (!freeze && !account.frozen) return 'account_not_frozen';
        if (!freeze && account.availableSats < 0) return 'account_overdrawn';
        account.frozen = freeze;
        return null;
      }
      default:
        throw new Error(`the reference market does not know ${command.type}`);
    }
  }

  // ---- Helpers ---------------------------------------------------------------------------

  private inflow(participant: string, amountSats: number): RejectionName | null {
    if (!this.positive(amountSats)) return 'amount_invalid';
    if (-this.worldSats + amountSats > MONEY_SATS_MAX) return 'supply_exceeded';
    if (this.account(participant) === undefined && this.liveAccounts().length >= ACCOUNTS_MAX) return 'accounts_full';
    return null;
  }

  private positive(amountSats: number): boolean {
    return Number.isSafeInteger(amountSats) && amountSats > 0 && amountSats <= MONEY_SATS_MAX;
  }

  private reference(id: string): boolean {
    return typeof id === 'string' && id.length >= 1 && id.length <= REFERENCE_CHARS_MAX && /^[A-Za-z0-9:_.-]+$/.test(id);
  }

  private issued(id: string, prefix: string, seq: number): boolean {
    const match = typeof id === 'string' ? new RegExp(`^${prefix}([1-9][0-9]{0,15})$`).exec(id) : null;
    return match !== null && Number(match[1]) <= seq;
  }

  /** An account exists while it holds money or is frozen; an empty record stands for none. */
  private account(address: string): Account | undefined {
    const found = this.accounts.find((a) => a.address === address);
    return found === undefined || !isLive(found) ? undefined : found;
  }

  private liveAccounts(): Account[] {
    return this.accounts.filter(isLive);
  }

  private accountOrNew(address: string): Account {
    return this.accounts.find((a) => a.address === address) ?? this.openAccount(address);
  }

  private openAccount(address: string): Account {
    const account: Account = {
      address,
      frozen: false,
      availableSats: 0,
      heldSats: 0,
      depositPendingSats: 0,
      payoutPendingSats: 0,
    };
    this.accounts.push(account);
    return account;
  }

  exportState(): MarketState {
    const byString = <T>(key: (item: T) => string) => (a: T, b: T) => compareStrings(key(a), key(b));
    return {
      version: MARKET_STATE_VERSION,
      nowMs: this.nowMs,
      bidSeq: this.bidSeq,
      txSeq: this.txSeq,
      openBidsPerArticleMax: this.limit,
      articles: [...this.articles].sort(byString((a) => a.articleId)),
      lastTrades: [...this.lastTrades].sort(byString((t) => t.article)),
      accounts: this.liveAccounts().sort(byString((a) => a.address)),
      bids: [...this.bids].sort((a, b) => a.seq - b.seq),
      transactions: [...this.txs].sort((a, b) => a.seq - b.seq),
      holds: [...this.holds].sort(byString((h) => h.holdId)),
      feesSats: this.feesSats,
      worldSats: this.worldSats,
      depositIndexNext: this.depositIndexNext,
      depositAddresses: this.addresses.map((a) => ({ ...a })),
      deposits: [...this.deposits].sort(byString((d) => d.id)).map((d) => ({ ...d, block: d.block === null ? null : { ...d.block } })),
      closedDepositIds: [...this.closedDeposits].sort(compareStrings),
      withdrawalSeq: this.withdrawalSeq,
      withdrawals: [...this.withdrawals].sort(byString((w) => w.withdrawalId)).map((w) => ({ ...w, block: w.block === null ? null : { ...w.block } })),
      withdrawalPolicy: { ...this.withdrawalPolicy },
      withdrawalHistory: [...this.withdrawalHistory].sort((a, b) => compareStrings(a.participant, b.participant)).map((h) => ({ ...h })),
      withdrawalDestinations: [...this.withdrawalDestinations].sort((a, b) => compareStrings(`${a.participant}\n${a.destination}`, `${b.participant}\n${b.destination}`)).map((d) => ({ ...d })),
      withdrawalKeys: [...this.withdrawalKeys].sort((a, b) => compareStrings(a.participant, b.participant) || compareStrings(a.key, b.key)).map((k) => ({ ...k })),
      // The model drives withdrawals step by step (withdrawalStep); payout batches are tested in test/market/payout-batches.test.ts.
      payoutBatchSeq: 0,
      changeIndexNext: 1,
      payoutBatches: [],
      reputations: [...this.reputations].sort((a, b) => compareStrings(a[0], b[0])).map(([address, { sales, purchases }]) => ({ address, sales: { ...sales }, purchases: { ...purchases } })),
    };
  }
}

function isLive(account: Account): boolean {
  return account.frozen || account.availableSats > 0 || account.heldSats > 0 || account.depositPendingSats > 0 || account.payoutPendingSats > 0;
}
