// Synthetic traders. Each purchase is a buy trade and each sale a sell trade of the daemon's own
// trade logic (src/machines/trade-logic.ts, hosted on sim/trades.ts): the logic decides, as in the
// daemon; what is here carries out its effects with simulated I/O and reports back with facts,
// as the daemon's executors (src/daemon/buyer.ts, seller.ts) do with real I/O. Each agent talks to
// the exchange as a daemon does (signed commands over its own connection, pushes of its own
// events). What the daemons do between themselves (moving work and results, the receipt, the key)
// is simulated as a message that arrives after the network's latency plus the transfer time; the
// fair exchange's messages to the exchange are the real ones. What is specific to the simulation
// stays here: the strategies (what to bid, when), how a cheater cheats, and the faults.
//
// Buyers: fixed (bid their valuation), takers (bid twice it), silent (never sign a receipt).
// Sellers: fixed ask, adaptive (5% down after an expired bid, 5% up after a fill), flaky (vanish
// from half their transactions once they have the work), cheaters (return wrong results), forgers
// (keep the result and publish a receipt they signed themselves: the exchange must refuse it).
import type { PersistedState } from '../src/actors/kind.js';
import type { Clock } from '../src/clock.js';
import { sellEntryEffects, type BuyEffect, type BuyFact, type SellEffect, type SellFact } from '../src/machines/trade-logic.js';
import type { BuyInput, BuyState, SellInput, SellState } from '../src/machines/trade.js';
import { checkResult, type CheckPort, type ResultClaim } from '../src/daemon/result-checker.js';
import { resultHashOf, verificationOf, type VerificationPolicy } from '../src/market/evidence.js';
import { SELLER_DISPUTES_LOST_MAX_DEFAULT, sellerRefusal } from '../src/market/reputation.js';
import type { PushedEvent } from '../src/protocol/exchange.js';
import type { Prng } from '../src/random.js';
import { ProtocolError } from '../src/transport/errors.js';
import type { MemoryNetwork } from '../src/transport/memory.js';
import type { LinkContext } from './agent-link.js';
import type { ConnectAgent, MarketPort } from './market-port.js';
import type { Auditor } from './auditor.js';
import { agentAddress, standInSignature } from './identities.js';
import type { Scenario } from './scenario.js';
import type { SimTrades, TradeOwner } from './trades.js';

export type BuyerKind = 'fixed' | 'taker' | 'silent';
export type SellerKind = 'fixed' | 'adaptive' | 'flaky' | 'cheater' | 'forger';

/** What every agent shares: time, randomness, the network, the auditor, the scenario. */
export interface AgentContext extends LinkContext {
  readonly scenario: Scenario;
  readonly clock: Clock;
  readonly prng: Prng;
  readonly network: MemoryNetwork;
  readonly auditor: Auditor;
  /** False in the liveness phase: no new purchases or offers. */
  open: boolean;
  /** Connects an agent to the market (through the exchange, or straight to the core). */
  readonly connect: ConnectAgent;
  readonly sellersByAddress: Map<string, SellerAgent>;
  readonly buyersByAddress: Map<string, BuyerAgent>;
  /** Transactions bought to check another seller's result (their cost is the cost of checking). */
  readonly witnessTxIds: Set<string>;
  /** Counts of how trades ended, by side and state. */
  readonly ended: Record<string, number>;
  /** Bids whose answer was lost and whose id could not be recovered (they expire on their own). */
  orphanBids: number;
  /** Bids whose answer was lost and whose id was recovered from their bidAccepted push. */
  recoveredBids: number;
  /** Where the trades run: the daemon's trade logic on the simulation's actor host. */
  readonly trades: SimTrades;
  /** Faults injected into the daemons (not the network): counts by kind. */
  readonly daemonFaults: { lateErrors: number; workersRemoved: number; sellerRestarts: number; ghostBidsMatched: number };
  /** Test only, a planted bug (the daemon's B2): a removed worker's bid is left on the book. */
  readonly keepGhostBids: boolean;
}

/** A seller that failed waits this long before it offers again (the daemon's worker back-off). */
const FAILURE_BACKOFF_MS = 20_000;
const REOFFER_MS = 1_000;
/** How late a dead peer session's error arrives after its transaction failed (the B1 fault). */
const LATE_ERROR_MS = 3_000;
/** Events kept for bids whose answer has not arrived yet (older ones belong to lost bids). */
const EARLY_EVENTS_MAX = 16;

function hex(prng: Prng, bytes = 32): string {
  return Buffer.from(prng.nextBytes(bytes)).toString('hex');
}

/** The simulated work's honest result: a function of the work alone, as SHA-256 of it. */
export function simResultHash(workFileKey: string): string {
  return resultHashOf(new TextEncoder().encode(`result of ${workFileKey}`));
}

function exponential(prng: Prng, meanMs: number): number {
  return -Math.log(1 - prng.nextFloat()) * meanMs;
}

/** One-way peer latency, drawn from the scenario's network. */
function peerLatencyMs(context: AgentContext): number {
  const { latencyMinMs, latencyMaxMs } = context.scenario.network;
  return latencyMinMs + (latencyMaxMs > latencyMinMs ? context.prng.nextInt(latencyMaxMs - latencyMinMs + 1) : 0);
}

function transferMs(context: AgentContext, mebibytes: number): number {
  return peerLatencyMs(context) + (mebibytes / context.scenario.bandwidthMiBPerSecond) * 1000;
}

function describe(error: unknown): string {
  return error instanceof ProtocolError ? `${error.errorName}: ${error.message}` : (error as Error).message;
}

/** Counts a bid id recovered from its push after its answer was lost. */
function recovered(context: AgentContext, bidId: string | undefined): string | undefined {
  if (bidId !== undefined) context.recoveredBids++;
  return bidId;
}

/**
 * What an agent knows of its bids before their answers arrive: the bidAccepted pushes not yet
 * claimed by an answer (a resend answered only "duplicate" takes its id from there), and trades
 * or expiries of bids whose answer is still on the way (a few at most; older ones belong to
 * bids whose answer was lost).
 */
class BidClaims {
  private readonly unclaimed = new Map<string, Extract<PushedEvent, { type: 'bidAccepted' }>>();
  private readonly early = new Map<string, PushedEvent>();

  keepEarly(bidId: string, event: PushedEvent): void {
    if (this.early.size >= EARLY_EVENTS_MAX) this.early.delete(this.early.keys().next().value!);
    this.early.set(bidId, event);
  }

  /** Hands `receive` the push about `bidId` that came before its answer, if one did. */
  replayEarly(bidId: string, receive: (event: PushedEvent) => void): void {
    const event = this.early.get(bidId);
    if (event === undefined) return;
    this.early.delete(bidId);
    receive(event);
  }

  accepted(event: Extract<PushedEvent, { type: 'bidAccepted' }>): void {
    this.unclaimed.set(event.bidId, event);
  }

  claim(bidId: string): void {
    this.unclaimed.delete(bidId);
  }

  /** The first unclaimed bid of this side, article and price, claimed now. */
  claimLike(side: 'buy' | 'sell', article: string, priceSats: number): string | undefined {
    for (const [bidId, event] of this.unclaimed) {
      if (event.side === side && event.article === article && event.priceSats === priceSats) {
        this.unclaimed.delete(bidId);
        return bidId;
      }
    }
    return undefined;
  }
}

/** What a simulated buyer daemon keeps of a purchase beside its trade state: its simulated I/O. */
interface PurchaseIo {
  seller: SellerAgent | undefined;
  workhashAccepted: boolean;
  sellerReady: boolean;
  resultBad: boolean;
  /** The seller's commitment to its result (its encresult's resulthash). */
  resultHash: string | undefined;
  /** A witness purchase (bought to check another's result): its result goes to the check that bought it. */
  readonly witness: boolean;
  witnessFor: ((claim: ResultClaim | null) => void) | undefined;
}

export class BuyerAgent implements TradeOwner {
  readonly address: string;
  private readonly link: MarketPort;
  private readonly live = new Map<string, PurchaseIo>();
  private readonly byBid = new Map<string, string>();
  private readonly byTx = new Map<string, string>();
  private readonly claims = new BidClaims();
  private count = 0;

  constructor(
    private readonly context: AgentContext,
    readonly name: string,
    readonly kind: BuyerKind,
    readonly article: string,
    readonly valueSats: number,
  ) {
    this.address = agentAddress(name);
    this.link = context.connect(this.address, (event) => this.receive(event), () => this.reconcile());
  }

  get activePurchases(): number {
    return this.live.size;
  }

  close(): void {
    this.link.close();
  }

  /** Starts a purchase now (the simulator calls this at each arrival). */
  purchase(): void {
    const { context } = this;
    const tradeId = `${this.name}-${++this.count}`;
    const input: BuyInput = { tradeId, article: this.article, workFileKey: hex(context.prng), workSize: Math.round(context.scenario.workMiB * 1024 * 1024), attemptsMax: context.scenario.attemptsMax, nowMs: context.clock.now(), clearanceWaitMs: 0 };
    this.live.set(tradeId, { seller: undefined, workhashAccepted: false, sellerReady: false, resultBad: false, resultHash: undefined, witness: false, witnessFor: undefined });
    context.trades.spawnBuy(this, input);
  }

  /** Buys the work of `parent` again from a seller not in `avoid`: its result, or null when that purchase fails. */
  private purchaseWitness(parent: ResultClaim, avoid: readonly string[]): Promise<ResultClaim | null> {
    const { context } = this;
    const parentState = context.trades.state(parent.tradeId) as BuyState | undefined;
    if (parentState === undefined) return Promise.resolve(null);
    const tradeId = `${this.name}-${++this.count}`;
    const { workFileKey, workSize } = parentState.context;
    const input: BuyInput = { tradeId, article: this.article, workFileKey, workSize, attemptsMax: context.scenario.attemptsMax, nowMs: context.clock.now(), clearanceWaitMs: 0, avoid };
    return new Promise((resolve) => {
      this.live.set(tradeId, { seller: undefined, workhashAccepted: false, sellerReady: false, resultBad: false, resultHash: undefined, witness: true, witnessFor: resolve });
      context.trades.spawnBuy(this, input);
    });
  }

  /** The article's verification policy, or the scenario's spot-check rate on a form-checked article (scenario.ts). */
  private policy(): VerificationPolicy {
    const policy = verificationOf(this.article);
    const percent = this.context.scenario.spotCheckPercent;
    return percent === null ? policy : { ...policy, localCheck: 'form', spotCheckPercent: percent };
  }

  /** The daemon's result check (src/daemon/result-checker.ts) on simulated I/O. */
  private readonly checkPort: CheckPort = {
    buyWitness: async (parent, avoid) => {
      const claim = await this.purchaseWitness(parent, avoid);
      if (claim !== null) this.context.witnessTxIds.add(claim.txId);
      return claim;
    },
    accept: async (claim) => {
      try {
        await this.link.txMessage(claim.txId, 'acceptresult');
      } catch (error) {
        // Retired meanwhile (the receipt stood at the deadline): nothing left to accept.
        if (!(error instanceof ProtocolError) || error.errorName !== 'tx_not_found') {
          if (this.live.get(claim.tradeId)?.witness === true) this.fact(claim.tradeId, { type: 'FAIL', nowMs: this.now(), txId: claim.txId, reason: `accept: ${describe(error)}` });
          throw error;
        }
      }
      if (this.live.get(claim.tradeId)?.witness === true) this.fact(claim.tradeId, { type: 'VERIFIED', nowMs: this.now(), txId: claim.txId, resultFileKey: hex(this.context.prng) });
    },
    reject: async (claim, reason, witnesses) => {
      await this.link.txMessage(claim.txId, 'rejectresult', { reason: reason.slice(0, 200) }).catch(() => undefined);
      // Refused evidence leaves the dispute to its window: the summary counts it undecided.
      if (witnesses.length > 0) await this.link.submitEvidence(claim.txId, witnesses).catch(() => undefined);
      if (this.live.get(claim.tradeId)?.witness === true) this.fact(claim.tradeId, { type: 'FAIL', nowMs: this.now(), txId: claim.txId, reason });
    },
    finishedSales: (seller) => this.link.queryReputation(seller).then((reputation) => reputation.sales.finished, () => 0),
    draw: () => this.context.prng.nextFloat(),
    log: () => undefined, // the summary reports the outcomes
  };

  private fact(tradeId: string, fact: BuyFact): void {
    this.context.trades.send(tradeId, fact);
  }

  private now(): number {
    return this.context.clock.now();
  }

  effects(tradeId: string, state: PersistedState, effects: readonly (BuyEffect | SellEffect)[]): void {
    for (const effect of effects as readonly BuyEffect[]) this.execute(tradeId, state as BuyState, effect);
  }

  /** Carries out one effect the trade logic decided, with simulated I/O. */
  private execute(tradeId: string, state: BuyState, effect: BuyEffect): void {
    const { context } = this;
    const io = this.live.get(tradeId);
    if (io === undefined) return;
    switch (effect.type) {
      case 'seekClearance':
        // The strategy: a standing mandate at the buyer's valuation (a taker's at twice it).
        return this.fact(tradeId, { type: 'CLEARED', nowMs: this.now(), priceSats: this.kind === 'taker' ? 2 * this.valueSats : this.valueSats, clearedBy: `mandate-${this.name}` });
      case 'runLocal':
        return this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId: null, reason: 'simulated buyers have no workers' });
      case 'placeBid':
        if (!context.open) return this.fact(tradeId, { type: 'CANCEL', nowMs: this.now(), reason: 'the market closed' });
        Object.assign(io, { seller: undefined, workhashAccepted: false, sellerReady: false, resultBad: false, resultHash: undefined });
        void this.placeBid(tradeId, effect.article, effect.priceSats, effect.avoid);
        return;
      case 'useMandate':
      case 'releaseMandate':
        return; // counted and checked by the trade auditor (sim/trades.ts)
      case 'watchBid': {
        this.byBid.set(effect.bidId, tradeId);
        this.claims.replayEarly(effect.bidId, (event) => this.receive(event));
        return;
      }
      case 'withdrawBid':
        void this.link.withdrawBid(effect.bidId).catch(() => undefined);
        return;
      case 'commitWork':
        this.byTx.set(effect.txId, tradeId);
        void this.refusal(io).then((refused) => (refused === null ? this.link.txMessage(effect.txId, 'workhash', { workhash: effect.workHash, worksecrethash: effect.workSecretHash }) : Promise.reject(new Error(refused)))).then(
          () => {
            io.workhashAccepted = true;
            this.sellerReadyIfBoth(tradeId, effect.txId, io);
          },
          (error: unknown) => this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId: effect.txId, reason: `workhash: ${describe(error)}` }),
        );
        return;
      case 'sendWork': {
        const seller = io.seller;
        if (seller === undefined) return this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId: effect.txId, reason: 'no seller' });
        context.clock.setTimer(() => seller.receiveWork(effect.txId, effect.buyerSecret, effect.workFileKey), transferMs(context, context.scenario.workMiB));
        return;
      }
      case 'fetchKey': {
        if (this.kind === 'silent') return; // never signs: the seller cannot publish, the deadline ends it
        const seller = io.seller;
        if (seller === undefined) return;
        const receipt = standInSignature(this.address, effect.encryptedFileKey);
        context.auditor.receiptSigned(effect.txId);
        context.clock.setTimer(() => seller.receiveReceipt(effect.txId, receipt), peerLatencyMs(context));
        return;
      }
      case 'verify':
        void this.verify(tradeId, effect.txId, io);
        return;
      case 'closeSession':
        this.byTx.delete(effect.txId);
        // The fault of B1: the dead peer session's error arrives late, about the transaction that failed.
        if (context.prng.nextFloat() < context.scenario.lateErrors) {
          context.daemonFaults.lateErrors++;
          context.clock.setTimer(() => this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId: effect.txId, reason: 'peer_trade_unknown (7002): a late answer of the old session' }), LATE_ERROR_MS);
        }
        return;
      case 'ignored':
        return;
      case 'ended': {
        const { bidId, txId } = state.context;
        io.witnessFor?.(null); // a witness purchase that failed: the check goes on without it
        this.live.delete(tradeId);
        if (txId !== null) this.byTx.delete(txId);
        if (bidId !== null) this.byBid.delete(bidId);
        // Witness purchases are the checks' cost, counted apart from the purchases buyers asked for.
        const side = io.witness ? 'witness' : 'buy';
        context.ended[`${side} ${effect.value}`] = (context.ended[`${side} ${effect.value}`] ?? 0) + 1;
        context.trades.forget(tradeId);
        return;
      }
    }
  }

  private async placeBid(tradeId: string, article: string, priceSats: number, avoid: readonly string[]): Promise<void> {
    try {
      const answer = await this.link.placeBid(article, 'buy', priceSats, avoid);
      const bidId = answer === 'duplicate' ? recovered(this.context, this.claims.claimLike('buy', article, priceSats)) : answer.bidId;
      if (bidId === undefined) {
        this.context.orphanBids++;
        return this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId: null, reason: 'the bid was placed but its id was lost' });
      }
      this.claims.claim(bidId);
      this.fact(tradeId, { type: 'BID_PLACED', nowMs: this.now(), bidId, endsMs: this.now() + this.context.scenario.bidLifetimeSeconds * 1000 });
    } catch (error) {
      this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId: null, reason: `placeBid: ${describe(error)}` });
    }
  }

  /** As the daemon does before it commits the work: a seller that lost disputes is refused (the default threshold). */
  private async refusal(io: PurchaseIo): Promise<string | null> {
    const seller = io.seller;
    if (seller === undefined) return null;
    const reputation = await this.link.queryReputation(seller.address).catch(() => undefined);
    return reputation === undefined ? null : sellerRefusal(seller.address, reputation.sales, SELLER_DISPUTES_LOST_MAX_DEFAULT);
  }

  private sellerReadyIfBoth(tradeId: string, txId: string, io: PurchaseIo): void {
    if (!io.workhashAccepted || !io.sellerReady) return;
    this.fact(tradeId, { type: 'SELLER_READY', nowMs: this.now(), txId, workerUrl: `sim://${io.seller?.peerName ?? '?'}` });
  }

  /**
   * Checks the result as the daemon does (its own check simulated by the seller's honesty; witness
   * purchases and evidence real), and accepts or rejects it on the exchange.
   */
  private async verify(tradeId: string, txId: string, io: PurchaseIo): Promise<void> {
    const problem = io.resultBad ? 'the result fails the check' : null;
    const claim: ResultClaim = { tradeId, txId, seller: io.seller?.address ?? '', resultHash: io.resultHash ?? '', checkedOk: problem === null, problem };
    const report = io.witnessFor;
    if (report !== undefined) {
      io.witnessFor = undefined;
      return report(claim); // the check that bought this witness accepts or rejects it
    }
    try {
      const outcome = await checkResult(this.checkPort, this.policy(), claim);
      if (outcome.accepted || outcome.replacement !== null) this.fact(tradeId, { type: 'VERIFIED', nowMs: this.now(), txId, resultFileKey: hex(this.context.prng), ...(outcome.replacement === null ? {} : { seller: outcome.replacement.seller }) });
      else this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId, reason: outcome.reason ?? 'the result is wrong' });
    } catch (error) {
      this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId, reason: `accept: ${describe(error)}` });
    }
  }

  /** A seller daemon's message: the encrypted result (simulated: its hash, and whether it is right). */
  receiveResult(txId: string, encryptedFileKey: string, bad: boolean, resultHash: string): void {
    const tradeId = this.byTx.get(txId);
    const io = tradeId === undefined ? undefined : this.live.get(tradeId);
    if (tradeId === undefined || io === undefined) return;
    io.resultBad = bad;
    io.resultHash = resultHash;
    this.fact(tradeId, { type: 'RESULT_RECEIVED', nowMs: this.now(), txId, encryptedFileKey });
  }

  /** The seller's answer to the receipt: the key it has published. */
  receiveKey(txId: string, resultKey: string): void {
    const tradeId = this.byTx.get(txId);
    if (tradeId !== undefined) this.fact(tradeId, { type: 'KEY', nowMs: this.now(), txId, resultKey });
  }

  private receive(event: PushedEvent): void {
    const nowMs = this.now();
    switch (event.type) {
      case 'bidAccepted':
        if (event.participant === this.address) this.claims.accepted(event);
        return;
      case 'trade': {
        if (event.buyer !== this.address) return;
        const tradeId = this.byBid.get(event.buyBidId);
        const io = tradeId === undefined ? undefined : this.live.get(tradeId);
        if (tradeId === undefined || io === undefined) return this.claims.keepEarly(event.buyBidId, event);
        io.seller = this.context.sellersByAddress.get(event.seller);
        this.byTx.set(event.txId, tradeId);
        this.fact(tradeId, { type: 'MATCHED', nowMs, bidId: event.buyBidId, txId: event.txId, buyerSecret: hex(this.context.prng), deal: { priceSats: event.priceSats, feeSats: event.feeSats }, seller: event.seller });
        this.fact(tradeId, { type: 'TX_DEADLINE', nowMs, txId: event.txId, deadlineMs: event.deadlineMs });
        return;
      }
      case 'bidExpired': {
        const tradeId = this.byBid.get(event.bidId);
        if (tradeId === undefined) return this.claims.keepEarly(event.bidId, event);
        this.fact(tradeId, { type: 'BID_ENDED', nowMs, bidId: event.bidId, reason: 'the bid expired' });
        return;
      }
      case 'txMessageAccepted': {
        const tradeId = this.byTx.get(event.txId);
        const io = tradeId === undefined ? undefined : this.live.get(tradeId);
        if (tradeId === undefined || io === undefined) return;
        this.fact(tradeId, { type: 'TX_DEADLINE', nowMs, txId: event.txId, deadlineMs: event.deadlineMs });
        if (event.message !== 'workerurl') return;
        io.sellerReady = true;
        this.sellerReadyIfBoth(tradeId, event.txId, io);
        return;
      }
      case 'txRetired': {
        const tradeId = this.byTx.get(event.txId);
        if (tradeId === undefined) return;
        // A buy that is verifying settles by its own accept (or its rejection): the logic ignores this there.
        if ((this.context.trades.state(tradeId)?.value as string | undefined) === 'verifying') return;
        this.fact(tradeId, { type: 'FAIL', nowMs, txId: event.txId, reason: `the transaction ended in ${event.phase}` });
        return;
      }
      default:
        return;
    }
  }

  /** After a reconnect (pushes may have been lost): each purchase asks the exchange where it stands. */
  private reconcile(): void {
    void this.reconcileAll();
  }

  private async reconcileAll(): Promise<void> {
    let view: Awaited<ReturnType<MarketPort['queryParticipant']>>;
    try {
      view = await this.link.queryParticipant();
    } catch {
      return; // the next reconnect asks again; deadlines end what waits meanwhile
    }
    const nowMs = this.now();
    const open = new Set(view.bids.map((bid) => bid.bidId));
    const active = new Set(view.transactions.map((tx) => tx.txId));
    for (const tradeId of [...this.live.keys()]) {
      const state = this.context.trades.state(tradeId) as BuyState | undefined;
      if (state === undefined) continue;
      const { value, context: trade } = state;
      if (value === 'bidPlaced' && trade.bidId !== null && !open.has(trade.bidId)) {
        const tx = view.transactions.find((candidate) => candidate['buyBidId'] === trade.bidId);
        if (tx === undefined) this.fact(tradeId, { type: 'BID_ENDED', nowMs, bidId: trade.bidId, reason: 'the bid ended (a lost push)' });
        else {
          this.live.get(tradeId)!.seller = this.context.sellersByAddress.get(String(tx['seller']));
          this.byTx.set(tx.txId, tradeId);
          this.fact(tradeId, { type: 'MATCHED', nowMs, bidId: trade.bidId, txId: tx.txId, buyerSecret: hex(this.context.prng), seller: String(tx['seller']) });
        }
      } else if (trade.txId !== null && value !== 'verifying' && !active.has(trade.txId)) {
        this.fact(tradeId, { type: 'FAIL', nowMs, txId: trade.txId, reason: 'the transaction ended (a lost push)' });
      } else if (value === 'matched' && trade.txId !== null) {
        const tx = view.transactions.find((candidate) => candidate.txId === trade.txId);
        const io = this.live.get(tradeId)!;
        if (tx !== undefined && tx['workerUrl'] !== null && tx['workerUrl'] !== undefined) {
          io.sellerReady = true;
          this.sellerReadyIfBoth(tradeId, trade.txId, io);
        }
      }
    }
  }
}

/** What a simulated seller daemon keeps of its sale beside the trade state. */
interface SaleIo {
  buyer: BuyerAgent | undefined;
  vanished: boolean;
}

export class SellerAgent implements TradeOwner {
  readonly address: string;
  askSats: number;
  private readonly link: MarketPort;
  /** The one sale of this seller's worker, by trade id, with its simulated I/O. */
  private sale: { readonly tradeId: string; readonly io: SaleIo } | undefined;
  private readonly claims = new BidClaims();
  private count = 0;
  private offerTimer: number | undefined;
  /** While its daemon is down (a restart): no offers; messages to it are lost. */
  private down = false;
  /** Bumped at each restart: callbacks of the process before it are void. */
  private generation = 0;
  /** The worker was removed at this time (ms) and not registered again; its bid must be gone. */
  workerGoneSinceMs: number | undefined;

  constructor(
    private readonly context: AgentContext,
    readonly name: string,
    readonly kind: SellerKind,
    readonly article: string,
    askSats: number,
  ) {
    this.address = agentAddress(name);
    this.askSats = askSats;
    this.link = context.connect(this.address, (event) => this.receive(event), () => this.reconcile());
  }

  /** Where buyers reach this seller's daemon (the same after a restart: B3). */
  get peerName(): string {
    return this.name;
  }

  /** Busy: matched and not yet done. */
  get busy(): boolean {
    const value = this.sale === undefined ? undefined : (this.context.trades.state(this.sale.tradeId)?.value as string | undefined);
    return value !== undefined && value !== 'bidding' && value !== 'bidPlaced';
  }

  close(): void {
    this.link.close();
  }

  private fact(tradeId: string, fact: SellFact): void {
    if (!this.down) this.context.trades.send(tradeId, fact);
  }

  private now(): number {
    return this.context.clock.now();
  }

  /** Offers the worker again after `delayMs`. */
  offerIn(delayMs: number): void {
    if (this.offerTimer !== undefined) this.context.clock.clearTimer(this.offerTimer);
    this.offerTimer = this.context.clock.setTimer(() => {
      this.offerTimer = undefined;
      this.offer();
    }, delayMs);
  }

  private offer(): void {
    const { context } = this;
    if (!context.open || this.sale !== undefined || this.down || this.workerGoneSinceMs !== undefined) return;
    const input: SellInput = { tradeId: `${this.name}-${++this.count}`, article: this.article, workerId: `${this.name}-worker`, priceSats: this.askSats, mandateId: 'sim', nowMs: this.now() };
    this.sale = { tradeId: input.tradeId, io: { buyer: undefined, vanished: false } };
    context.trades.spawnSell(this, input);
  }

  effects(tradeId: string, state: PersistedState, effects: readonly (BuyEffect | SellEffect)[]): void {
    for (const effect of effects as readonly SellEffect[]) this.execute(tradeId, state as SellState, effect);
  }

  /** Carries out one effect the trade logic decided, with simulated I/O. */
  private execute(tradeId: string, state: SellState, effect: SellEffect): void {
    const { context } = this;
    const sale = this.sale;
    if (sale === undefined || sale.tradeId !== tradeId) return;
    const generation = this.generation;
    const current = (): boolean => this.generation === generation && this.sale === sale;
    switch (effect.type) {
      case 'placeBid':
        void this.placeBid(tradeId, effect.article, effect.priceSats, current);
        return;
      case 'watchBid': {
        if (this.workerGoneSinceMs !== undefined) return void this.withdrawForGoneWorker(tradeId, effect.bidId);
        this.claims.replayEarly(effect.bidId, (event) => this.receive(event));
        return;
      }
      case 'withdrawBid':
        void this.link.withdrawBid(effect.bidId).catch(() => undefined);
        return;
      case 'useMandate':
        return;
      case 'announce':
        void this.link.txMessage(effect.txId, 'workerurl', { workerurl: `ws://${this.peerName}.sim/peer` }).catch((error: unknown) => {
          if (current()) this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId: effect.txId, blame: 'self', reason: `workerurl: ${describe(error)}` });
        });
        return;
      case 'runWorker':
        context.clock.setTimer(() => {
          // An honest result is the same for the same work (the work is deterministic); a cheater's is not.
          const resultHash = this.kind === 'cheater' ? hex(context.prng) : simResultHash(effect.workFileKey);
          if (current()) this.fact(tradeId, { type: 'RESULT_READY', nowMs: this.now(), txId: effect.txId, encryptedFileKey: hex(context.prng), resultKey: hex(context.prng), resultHash });
        }, exponential(context.prng, context.scenario.workSeconds * 1000));
        return;
      case 'awaitReceipt': {
        const { encryptedFileKey, resultHash } = state.context;
        const buyer = sale.io.buyer;
        if (buyer === undefined || encryptedFileKey === null || resultHash === null) return this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId: effect.txId, blame: 'self', reason: 'no buyer' });
        // A forger keeps the result and signs a receipt itself: the exchange must refuse it.
        if (this.kind === 'forger') return this.fact(tradeId, { type: 'RECEIPT', nowMs: this.now(), txId: effect.txId, receipt: standInSignature(this.address, encryptedFileKey) });
        // A cheater's result is wrong; the buyer's own check catches it unless it is one that passes (cheatsPassCheck).
        const bad = this.kind === 'cheater' && context.prng.nextFloat() >= context.scenario.cheatsPassCheck;
        context.clock.setTimer(() => buyer.receiveResult(effect.txId, encryptedFileKey, bad, resultHash), transferMs(context, context.scenario.workMiB / 10));
        return;
      }
      case 'publish':
        void this.publish(tradeId, effect, sale.io, current);
        return;
      case 'blockWorker':
        return; // the back-off is the longer pause before the next offer, below
      case 'ignored':
        return;
      case 'ended':
        context.ended[`sell ${effect.value}`] = (context.ended[`sell ${effect.value}`] ?? 0) + 1;
        context.trades.forget(tradeId);
        this.sale = undefined;
        if (effect.value === 'done' && this.kind === 'adaptive') this.askSats = Math.round(this.askSats * 1.05);
        if (effect.value === 'ended' && this.kind === 'adaptive') this.askSats = Math.max(100, Math.round(this.askSats * 0.95));
        this.offerIn(effect.value === 'failed' ? FAILURE_BACKOFF_MS : REOFFER_MS);
        return;
    }
  }

  private async placeBid(tradeId: string, article: string, priceSats: number, current: () => boolean): Promise<void> {
    try {
      const answer = await this.link.placeBid(article, 'sell', priceSats);
      const bidId = answer === 'duplicate' ? recovered(this.context, this.claims.claimLike('sell', article, priceSats)) : answer.bidId;
      if (!current()) return; // the daemon restarted meanwhile: the bid is an orphan the restart withdraws
      if (bidId === undefined) {
        this.context.orphanBids++;
        return this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId: null, blame: 'self', reason: 'the bid was placed but its id was lost' });
      }
      this.claims.claim(bidId);
      this.fact(tradeId, { type: 'BID_PLACED', nowMs: this.now(), bidId, endsMs: this.now() + this.context.scenario.bidLifetimeSeconds * 1000 });
    } catch (error) {
      if (current()) this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId: null, blame: 'self', reason: `placeBid: ${describe(error)}` });
    }
  }

  private async publish(tradeId: string, effect: Extract<SellEffect, { type: 'publish' }>, io: SaleIo, current: () => boolean): Promise<void> {
    const { txId, encryptedFileKey, receipt, resultKey, resultHash } = effect;
    try {
      await this.link.txMessage(txId, 'encresult', { encresulthash: encryptedFileKey, encresulthashsig: receipt, encresultkey: resultKey, resulthash: resultHash });
    } catch (error) {
      if (current()) this.fact(tradeId, { type: 'FAIL', nowMs: this.now(), txId, blame: 'self', reason: `encresult: ${describe(error)}` });
      return;
    }
    if (!current()) return;
    const buyer = io.buyer;
    if (buyer !== undefined) this.context.clock.setTimer(() => buyer.receiveKey(txId, resultKey), peerLatencyMs(this.context));
    this.fact(tradeId, { type: 'PUBLISHED', nowMs: this.now(), txId });
  }

  /** The buyer daemon's message: the work and the buyer secret. */
  receiveWork(txId: string, buyerSecret: string, workFileKey: string): void {
    const sale = this.sale;
    if (sale === undefined || this.down || sale.io.vanished) return;
    const state = this.context.trades.state(sale.tradeId) as SellState | undefined;
    if (state?.value !== 'matched' || state.context.txId !== txId) return;
    if (this.kind === 'flaky' && this.context.prng.nextFloat() < 0.5) {
      sale.io.vanished = true; // gone with the work: the transaction times out and the buyer is refunded
      return;
    }
    const generation = this.generation;
    void this.link.txMessage(txId, 'buyersecret', { buyersecret: buyerSecret }).then(
      () => {
        if (this.generation === generation) this.fact(sale.tradeId, { type: 'WORK_RECEIVED', nowMs: this.now(), txId, workFileKey, buyerSecret });
      },
      (error: unknown) => {
        if (this.generation === generation) this.fact(sale.tradeId, { type: 'FAIL', nowMs: this.now(), txId, blame: 'peer', reason: `buyersecret: ${describe(error)}` });
      },
    );
  }

  /** The buyer's receipt for the encrypted result. */
  receiveReceipt(txId: string, receipt: string): void {
    if (this.sale !== undefined) this.fact(this.sale.tradeId, { type: 'RECEIPT', nowMs: this.now(), txId, receipt });
  }

  /**
   * The fault of B2: the worker is removed. A sale still waiting for a buyer has its bid withdrawn
   * (as the daemon does; a bid on its way is withdrawn once placed); the seller offers again once
   * the worker is back. A sale already matched runs on.
   */
  removeWorker(backAfterMs: number): void {
    this.context.daemonFaults.workersRemoved++;
    this.workerGoneSinceMs = this.now();
    const state = this.sale === undefined ? undefined : (this.context.trades.state(this.sale.tradeId) as SellState | undefined);
    if (this.sale !== undefined && state?.value === 'bidPlaced' && state.context.bidId !== null) void this.withdrawForGoneWorker(this.sale.tradeId, state.context.bidId);
    this.context.clock.setTimer(() => {
      this.workerGoneSinceMs = undefined;
      this.offerIn(REOFFER_MS);
    }, backAfterMs);
  }

  private async withdrawForGoneWorker(tradeId: string, bidId: string): Promise<void> {
    if (this.context.keepGhostBids) return;
    try {
      await this.link.withdrawBid(bidId);
    } catch {
      return; // matched meanwhile: the sale runs on
    }
    this.fact(tradeId, { type: 'BID_ENDED', nowMs: this.now(), bidId, reason: 'withdrawn: the worker was removed' });
  }

  /**
   * The fault of B3 and B6: the seller's daemon restarts. Its trade is saved as it stands and
   * taken up again after the downtime (its peer address is the same); what happened meanwhile is
   * lost; trade ids continue after the saved one.
   */
  restart(downtimeMs: number): void {
    this.context.daemonFaults.sellerRestarts++;
    this.generation++;
    this.down = true;
    const saved = this.sale === undefined ? undefined : (this.context.trades.state(this.sale.tradeId) as SellState | undefined);
    const io = this.sale?.io;
    if (this.sale !== undefined) this.context.trades.forget(this.sale.tradeId);
    this.sale = undefined;
    this.context.clock.setTimer(() => {
      this.down = false;
      if (saved === undefined || io === undefined) return this.offerIn(REOFFER_MS);
      this.sale = { tradeId: saved.context.tradeId, io };
      this.context.trades.revive(this, 'sell', saved);
      this.effects(saved.context.tradeId, saved, sellEntryEffects(saved));
      this.reconcile();
    }, downtimeMs);
  }

  private receive(event: PushedEvent): void {
    if (this.down) return; // a daemon that is down hears nothing
    const sale = this.sale;
    const state = sale === undefined ? undefined : (this.context.trades.state(sale.tradeId) as SellState | undefined);
    const nowMs = this.now();
    switch (event.type) {
      case 'bidAccepted':
        if (event.participant === this.address) this.claims.accepted(event);
        return;
      case 'trade':
        if (event.seller !== this.address) return;
        if (sale === undefined || state?.context.bidId !== event.sellBidId) return this.claims.keepEarly(event.sellBidId, event);
        sale.io.buyer = this.context.buyersByAddress.get(event.buyer);
        this.fact(sale.tradeId, { type: 'MATCHED', nowMs, bidId: event.sellBidId, txId: event.txId, buyer: event.buyer, deal: { priceSats: event.priceSats, feeSats: event.feeSats } });
        this.fact(sale.tradeId, { type: 'TX_DEADLINE', nowMs, txId: event.txId, deadlineMs: event.deadlineMs });
        return;
      case 'bidExpired':
        if (sale === undefined || state?.context.bidId !== event.bidId) return this.claims.keepEarly(event.bidId, event);
        this.fact(sale.tradeId, { type: 'BID_ENDED', nowMs, bidId: event.bidId, reason: 'the bid expired unmatched' });
        return;
      case 'txMessageAccepted':
        if (sale !== undefined && state?.context.txId === event.txId) this.fact(sale.tradeId, { type: 'TX_DEADLINE', nowMs, txId: event.txId, deadlineMs: event.deadlineMs });
        return;
      case 'txRetired':
        if (sale === undefined || state?.context.txId !== event.txId) return;
        if (state.value === 'receipted') return; // its encresult answer will settle it
        this.fact(sale.tradeId, { type: 'FAIL', nowMs, txId: event.txId, blame: 'peer', reason: `the transaction ended in ${event.phase}` });
        return;
      default:
        return;
    }
  }

  /** After a reconnect or a restart: the sale asks the exchange where it stands. */
  private reconcile(): void {
    void this.reconcileSale();
  }

  private async reconcileSale(): Promise<void> {
    const sale = this.sale;
    if (sale === undefined || this.down) return;
    let view: Awaited<ReturnType<MarketPort['queryParticipant']>>;
    try {
      view = await this.link.queryParticipant();
    } catch {
      return;
    }
    const state = this.context.trades.state(sale.tradeId) as SellState | undefined;
    if (this.sale !== sale || state === undefined) return;
    const nowMs = this.now();
    const { value, context: trade } = state;
    if (value === 'bidPlaced' && trade.bidId !== null && !view.bids.some((bid) => bid.bidId === trade.bidId)) {
      const tx = view.transactions.find((candidate) => candidate['sellBidId'] === trade.bidId);
      if (tx === undefined) return this.fact(sale.tradeId, { type: 'BID_ENDED', nowMs, bidId: trade.bidId, reason: 'the bid ended (a lost push)' });
      sale.io.buyer = this.context.buyersByAddress.get(String(tx['buyer']));
      return this.fact(sale.tradeId, { type: 'MATCHED', nowMs, bidId: trade.bidId, txId: tx.txId, buyer: String(tx['buyer']) });
    }
    if (trade.txId !== null && value !== 'receipted' && !view.transactions.some((tx) => tx.txId === trade.txId)) {
      this.fact(sale.tradeId, { type: 'FAIL', nowMs, txId: trade.txId, blame: 'peer', reason: 'the transaction ended (a lost push)' });
    }
  }
}
