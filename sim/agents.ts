// Synthetic traders. Each purchase is a buy trade and each sale a sell trade: the daemon's own
// machines (src/machines/trade.ts), stepped by the same events the daemon's drivers give them, and
// each agent talks to the exchange as a daemon does (signed commands over its own connection,
// pushes of its own events). What the daemons do between themselves (moving work and results,
// the receipt, the key) is simulated as a message that arrives after the network's latency plus
// the transfer time; the fair exchange's messages to the exchange are the real ones.
//
// Buyers: fixed (bid their valuation), takers (bid twice it), silent (never sign a receipt).
// Sellers: fixed ask, adaptive (5% down after an expired bid, 5% up after a fill), flaky (vanish
// from half their transactions once they have the work), cheaters (return wrong results), forgers
// (keep the result and publish a receipt they signed themselves: the exchange must refuse it).
import type { Clock } from '../src/clock.js';
import { workSecretHashOf } from '../src/machines/transaction.js';
import { buyTradeMachine, sellTradeMachine, type BuyEvent, type BuyState, type SellEvent, type SellState } from '../src/machines/trade.js';
import type { PushedEvent } from '../src/protocol/exchange.js';
import type { Prng } from '../src/random.js';
import { ProtocolError } from '../src/transport/errors.js';
import type { MemoryNetwork } from '../src/transport/memory.js';
import type { LinkContext } from './agent-link.js';
import type { ConnectAgent, MarketPort } from './market-port.js';
import type { Auditor } from './auditor.js';
import { agentAddress, standInSignature } from './identities.js';
import type { Scenario } from './scenario.js';

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
  /** Counts of how trades ended, by side and state. */
  readonly ended: Record<string, number>;
  /** Bids whose answer was lost and whose id could not be recovered (they expire on their own). */
  orphanBids: number;
  /** Bids whose answer was lost and whose id was recovered from their bidAccepted push. */
  recoveredBids: number;
}

/** A seller that failed waits this long before it offers again (the daemon's worker back-off). */
const FAILURE_BACKOFF_MS = 20_000;
const REOFFER_MS = 1_000;
/**
 * A trade that has not moved for this long (a bid past its lifetime, a transaction step) asks the
 * exchange where it stands: a lost push must not leave it waiting forever.
 */
const STALE_GRACE_MS = 15_000;
const STALE_TX_MS = 3 * 60_000;
/** The states in which a trade waits for the exchange's pushes. */
const WATCHED_BUY_STATES: ReadonlySet<string> = new Set(['bidPlaced', 'matched', 'transferring', 'receipted']);
const WATCHED_SELL_STATES: ReadonlySet<string> = new Set(['bidPlaced', 'matched', 'working', 'delivering', 'receipted']);
/** Events kept for bids whose answer has not arrived yet (older ones belong to lost bids). */
const EARLY_EVENTS_MAX = 16;

function hex(prng: Prng, bytes = 32): string {
  return Buffer.from(prng.nextBytes(bytes)).toString('hex');
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

/**
 * What an agent knows of its bids before their answers arrive: the bidAccepted pushes not yet
 * claimed by an answer (a resend answered only "duplicate" takes its id from there), and trades
 * or expiries of bids whose answer is still on the way (a few at most; older ones belong to
 * bids whose answer was lost).
 */
/** Counts a bid id recovered from its push after its answer was lost. */
function recovered(context: AgentContext, bidId: string | undefined): string | undefined {
  if (bidId !== undefined) context.recoveredBids++;
  return bidId;
}

class BidClaims {
  private readonly unclaimed = new Map<string, Extract<PushedEvent, { type: 'bidAccepted' }>>();
  private readonly early = new Map<string, PushedEvent>();

  keepEarly(bidId: string, event: PushedEvent): void {
    if (this.early.size >= EARLY_EVENTS_MAX) this.early.delete(this.early.keys().next().value!);
    this.early.set(bidId, event);
  }

  takeEarly(bidId: string): PushedEvent | undefined {
    const event = this.early.get(bidId);
    this.early.delete(bidId);
    return event;
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

interface Purchase {
  state: BuyState;
  workhashAccepted: boolean;
  sellerReady: boolean;
  seller: SellerAgent | undefined;
  resultBad: boolean;
}

export class BuyerAgent {
  readonly address: string;
  private readonly link: MarketPort;
  private readonly purchases = new Map<string, Purchase>();
  private readonly byBid = new Map<string, Purchase>();
  private readonly byTx = new Map<string, Purchase>();
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
    return this.purchases.size;
  }

  close(): void {
    this.link.close();
  }

  /** Starts a purchase now (the simulator calls this at each arrival). */
  purchase(): void {
    const { context } = this;
    const tradeId = `${this.name}-${++this.count}`;
    const input = { tradeId, article: this.article, workFileKey: hex(context.prng), workSize: Math.round(context.scenario.workMiB * 1024 * 1024), attemptsMax: context.scenario.attemptsMax, nowMs: context.clock.now() };
    const purchase: Purchase = { state: buyTradeMachine.compiled.initial(input), workhashAccepted: false, sellerReady: false, seller: undefined, resultBad: false };
    this.purchases.set(tradeId, purchase);
    const priceSats = this.kind === 'taker' ? 2 * this.valueSats : this.valueSats;
    this.step(purchase, { type: 'CLEARED', nowMs: context.clock.now(), priceSats, clearedBy: 'mandate' });
  }

  private step(purchase: Purchase, event: BuyEvent): void {
    const next = buyTradeMachine.compiled.step(purchase.state, event);
    if (next === purchase.state) return;
    const left = purchase.state;
    purchase.state = next;
    if (left.context.txId !== null && next.context.txId !== left.context.txId) this.byTx.delete(left.context.txId);
    if (left.context.bidId !== null && next.context.bidId !== left.context.bidId) this.byBid.delete(left.context.bidId);
    if (next.value !== left.value || next.context.attempts !== left.context.attempts) this.act(purchase);
    this.watch(purchase);
  }

  /** Asks the exchange about a purchase that has waited too long for a push. */
  private watch(purchase: Purchase): void {
    const { value, context: trade } = purchase.state;
    if (!WATCHED_BUY_STATES.has(value)) return;
    const updatedMs = trade.updatedMs;
    const delayMs = value === 'bidPlaced' ? this.context.scenario.bidLifetimeSeconds * 1000 + STALE_GRACE_MS : STALE_TX_MS;
    this.context.clock.setTimer(() => {
      if (this.purchases.get(trade.tradeId) === purchase && purchase.state.value === value && purchase.state.context.updatedMs === updatedMs) void this.reconcileOne(purchase);
    }, delayMs);
  }

  private async reconcileOne(purchase: Purchase): Promise<void> {
    const { value, context: trade } = purchase.state;
    if (!WATCHED_BUY_STATES.has(value)) return;
    const nowMs = this.context.clock.now();
    try {
      if (value === 'bidPlaced') {
        const view = await this.link.queryParticipant();
        if (purchase.state.value !== 'bidPlaced') return;
        if (view.bids.some((bid) => bid.bidId === trade.bidId)) return this.watch(purchase);
        const tx = view.transactions.find((candidate) => candidate['buyBidId'] === trade.bidId);
        if (tx === undefined) return this.step(purchase, { type: 'BID_ENDED', nowMs, reason: 'the bid ended (a lost push)' });
        purchase.seller = this.context.sellersByAddress.get(String(tx['seller']));
        this.byTx.set(tx.txId, purchase);
        return this.step(purchase, { type: 'MATCHED', nowMs, txId: tx.txId, buyerSecret: hex(this.context.prng) });
      }
      const tx = await this.link.queryTransaction(trade.txId!);
      if (purchase.state.context.txId !== trade.txId) return;
      if (value === 'matched' && tx['workerUrl'] !== null) {
        purchase.sellerReady = true;
        this.sellerReadyIfBoth(purchase);
      }
      this.watch(purchase);
    } catch (error) {
      if (error instanceof ProtocolError && error.errorName === 'tx_not_found' && purchase.state.context.txId === trade.txId) this.fail(purchase, 'the transaction ended (a lost push)');
      else if (purchase.state.value === value) this.watch(purchase);
    }
  }

  private fail(purchase: Purchase, reason: string): void {
    this.step(purchase, { type: 'FAIL', nowMs: this.context.clock.now(), reason });
  }

  /** Does what the purchase's new state asks for. */
  private act(purchase: Purchase): void {
    const { context } = this;
    const { value, context: trade } = purchase.state;
    switch (value) {
      case 'bidding':
        if (!context.open) return this.step(purchase, { type: 'CANCEL', nowMs: context.clock.now(), reason: 'the market closed' });
        purchase.workhashAccepted = false;
        purchase.sellerReady = false;
        purchase.seller = undefined;
        void this.placeBid(purchase);
        return;
      case 'matched':
        void this.link.txMessage(trade.txId!, 'workhash', { workhash: trade.workFileKey, worksecrethash: workSecretHashOf(trade.workFileKey, trade.buyerSecret!) }).then(
          () => {
            purchase.workhashAccepted = true;
            this.sellerReadyIfBoth(purchase);
          },
          (error: unknown) => this.fail(purchase, `workhash: ${describe(error)}`),
        );
        return;
      case 'transferring': {
        const seller = purchase.seller;
        if (seller === undefined) return this.fail(purchase, 'no seller');
        context.clock.setTimer(() => seller.receiveWork(trade.txId!, trade.buyerSecret!), transferMs(context, context.scenario.workMiB));
        return;
      }
      case 'receipted': {
        if (this.kind === 'silent') return; // never signs: the seller cannot publish, the deadline ends it
        const seller = purchase.seller!;
        const receipt = standInSignature(this.address, trade.encryptedFileKey!);
        context.auditor.receiptSigned(trade.txId!);
        context.clock.setTimer(() => seller.receiveReceipt(trade.txId!, receipt), peerLatencyMs(context));
        return;
      }
      case 'verifying':
        void this.verify(purchase);
        return;
      case 'done':
      case 'failed':
        this.purchases.delete(trade.tradeId);
        if (trade.txId !== null) this.byTx.delete(trade.txId);
        if (trade.bidId !== null) this.byBid.delete(trade.bidId);
        context.ended[`buy ${value}`] = (context.ended[`buy ${value}`] ?? 0) + 1;
        return;
      default:
        return;
    }
  }

  private async placeBid(purchase: Purchase): Promise<void> {
    const { article, priceSats, tradeId } = purchase.state.context;
    try {
      const answer = await this.link.placeBid(article, 'buy', priceSats!);
      const bidId = answer === 'duplicate' ? recovered(this.context, this.claims.claimLike('buy', article, priceSats!)) : answer.bidId;
      if (bidId === undefined) {
        this.context.orphanBids++;
        return this.fail(purchase, 'the bid was placed but its id was lost');
      }
      this.claims.claim(bidId);
      if (this.purchases.get(tradeId) !== purchase || purchase.state.value !== 'bidding') return;
      this.byBid.set(bidId, purchase);
      this.step(purchase, { type: 'BID_PLACED', nowMs: this.context.clock.now(), bidId });
      const early = this.claims.takeEarly(bidId);
      if (early !== undefined) this.receive(early);
    } catch (error) {
      this.fail(purchase, `placeBid: ${describe(error)}`);
    }
  }

  private sellerReadyIfBoth(purchase: Purchase): void {
    if (!purchase.workhashAccepted || !purchase.sellerReady || purchase.state.value !== 'matched') return;
    this.step(purchase, { type: 'SELLER_READY', nowMs: this.context.clock.now(), workerUrl: `sim://${purchase.seller?.name ?? '?'}` });
  }

  /** Checks the result (simulated: the seller's honesty) and accepts or rejects it on the exchange. */
  private async verify(purchase: Purchase): Promise<void> {
    const txId = purchase.state.context.txId!;
    if (purchase.resultBad) {
      await this.link.txMessage(txId, 'rejectresult', { reason: 'the result fails the check' }).catch(() => undefined);
      return this.fail(purchase, 'the result is wrong');
    }
    try {
      await this.link.txMessage(txId, 'acceptresult');
    } catch (error) {
      // Retired meanwhile (the receipt stood at the deadline): nothing left to accept.
      if (!(error instanceof ProtocolError) || error.errorName !== 'tx_not_found') return this.fail(purchase, `accept: ${describe(error)}`);
    }
    this.step(purchase, { type: 'VERIFIED', nowMs: this.context.clock.now(), resultFileKey: hex(this.context.prng) });
  }

  /** A seller daemon's message: the encrypted result (simulated: its hash, and whether it is right). */
  receiveResult(txId: string, encryptedFileKey: string, bad: boolean): void {
    const purchase = this.byTx.get(txId);
    if (purchase === undefined || purchase.state.value !== 'transferring') return;
    purchase.resultBad = bad;
    this.step(purchase, { type: 'RESULT_RECEIVED', nowMs: this.context.clock.now(), encryptedFileKey });
  }

  /** The seller's answer to the receipt: the key it has published. */
  receiveKey(txId: string, resultKey: string): void {
    const purchase = this.byTx.get(txId);
    if (purchase === undefined || purchase.state.value !== 'receipted') return;
    this.step(purchase, { type: 'KEY', nowMs: this.context.clock.now(), resultKey });
  }

  private receive(event: PushedEvent): void {
    const nowMs = this.context.clock.now();
    switch (event.type) {
      case 'bidAccepted':
        if (event.participant === this.address) this.claims.accepted(event);
        return;
      case 'trade': {
        if (event.buyer !== this.address) return;
        const purchase = this.byBid.get(event.buyBidId);
        if (purchase === undefined) return this.claims.keepEarly(event.buyBidId, event);
        purchase.seller = this.context.sellersByAddress.get(event.seller);
        this.byTx.set(event.txId, purchase);
        this.step(purchase, { type: 'MATCHED', nowMs, txId: event.txId, buyerSecret: hex(this.context.prng) });
        return;
      }
      case 'bidExpired': {
        const purchase = this.byBid.get(event.bidId);
        if (purchase === undefined) return this.claims.keepEarly(event.bidId, event);
        this.step(purchase, { type: 'BID_ENDED', nowMs, reason: 'no seller took the bid' });
        return;
      }
      case 'txMessageAccepted': {
        const purchase = this.byTx.get(event.txId);
        if (purchase === undefined || event.message !== 'workerurl') return;
        purchase.sellerReady = true;
        this.sellerReadyIfBoth(purchase);
        return;
      }
      case 'txRetired': {
        const purchase = this.byTx.get(event.txId);
        if (purchase === undefined || purchase.state.value === 'verifying') return;
        this.fail(purchase, `the transaction ended in ${event.phase}`);
        return;
      }
      default:
        return;
    }
  }

  /** After a reconnect: every purchase asks where it stands (pushes may have been lost). */
  private reconcile(): void {
    for (const purchase of [...this.purchases.values()]) if (purchase.state.value !== 'verifying') void this.reconcileOne(purchase);
  }
}

interface Sale {
  state: SellState;
  buyer: BuyerAgent | undefined;
  vanished: boolean;
}

export class SellerAgent {
  readonly address: string;
  askSats: number;
  private readonly link: MarketPort;
  private sale: Sale | undefined;
  private readonly claims = new BidClaims();
  private count = 0;
  private offerTimer: number | undefined;

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

  /** Busy: matched and not yet done. */
  get busy(): boolean {
    const value = this.sale?.state.value;
    return value !== undefined && value !== 'bidding' && value !== 'bidPlaced';
  }

  close(): void {
    this.link.close();
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
    if (!context.open || this.sale !== undefined) return;
    const input = { tradeId: `${this.name}-${++this.count}`, article: this.article, workerId: `${this.name}-worker`, priceSats: this.askSats, mandateId: 'sim', nowMs: context.clock.now() };
    this.sale = { state: sellTradeMachine.compiled.initial(input), buyer: undefined, vanished: false };
    void this.placeBid(this.sale);
  }

  private step(sale: Sale, event: SellEvent): void {
    const next = sellTradeMachine.compiled.step(sale.state, event);
    if (next === sale.state) return;
    const changed = next.value !== sale.state.value;
    sale.state = next;
    if (changed) this.act(sale);
    this.watch(sale);
  }

  /** Asks the exchange about a sale that has waited too long for a push. */
  private watch(sale: Sale): void {
    const { value, context: trade } = sale.state;
    if (!WATCHED_SELL_STATES.has(value)) return;
    const updatedMs = trade.updatedMs;
    const delayMs = value === 'bidPlaced' ? this.context.scenario.bidLifetimeSeconds * 1000 + STALE_GRACE_MS : STALE_TX_MS;
    this.context.clock.setTimer(() => {
      if (this.sale === sale && sale.state.value === value && sale.state.context.updatedMs === updatedMs) void this.reconcileOne(sale);
    }, delayMs);
  }

  private async reconcileOne(sale: Sale): Promise<void> {
    const { value, context: trade } = sale.state;
    if (!WATCHED_SELL_STATES.has(value)) return;
    const nowMs = this.context.clock.now();
    try {
      if (value === 'bidPlaced') {
        const view = await this.link.queryParticipant();
        if (this.sale !== sale || sale.state.value !== 'bidPlaced') return;
        if (view.bids.some((bid) => bid.bidId === trade.bidId)) return this.watch(sale);
        const tx = view.transactions.find((candidate) => candidate['sellBidId'] === trade.bidId);
        if (tx === undefined) return this.step(sale, { type: 'BID_ENDED', nowMs, reason: 'the bid ended (a lost push)' });
        sale.buyer = this.context.buyersByAddress.get(String(tx['buyer']));
        return this.step(sale, { type: 'MATCHED', nowMs, txId: tx.txId, buyer: String(tx['buyer']) });
      }
      await this.link.queryTransaction(trade.txId!);
      if (this.sale === sale && sale.state.value === value) this.watch(sale);
    } catch (error) {
      if (error instanceof ProtocolError && error.errorName === 'tx_not_found' && this.sale === sale && sale.state.context.txId === trade.txId) this.fail(sale, 'the transaction ended (a lost push)');
      else if (this.sale === sale && sale.state.value === value) this.watch(sale);
    }
  }

  private fail(sale: Sale, reason: string): void {
    this.step(sale, { type: 'FAIL', nowMs: this.context.clock.now(), reason });
  }

  private act(sale: Sale): void {
    const { context } = this;
    const { value, context: trade } = sale.state;
    switch (value) {
      case 'matched':
        void this.link.txMessage(trade.txId!, 'workerurl', { workerurl: `ws://${this.name}.sim/peer` }).catch((error: unknown) => this.fail(sale, `workerurl: ${describe(error)}`));
        return;
      case 'working':
        context.clock.setTimer(() => {
          if (this.sale !== sale || sale.state.value !== 'working') return;
          this.step(sale, { type: 'RESULT_READY', nowMs: context.clock.now(), encryptedFileKey: hex(context.prng), resultKey: hex(context.prng) });
        }, exponential(context.prng, context.scenario.workSeconds * 1000));
        return;
      case 'delivering': {
        const buyer = sale.buyer;
        if (buyer === undefined) return this.fail(sale, 'no buyer');
        if (this.kind === 'forger') return this.step(sale, { type: 'RECEIPT', nowMs: context.clock.now(), receipt: standInSignature(this.address, trade.encryptedFileKey!) });
        const bad = this.kind === 'cheater';
        context.clock.setTimer(() => buyer.receiveResult(trade.txId!, trade.encryptedFileKey!, bad), transferMs(context, context.scenario.workMiB / 10));
        return;
      }
      case 'receipted':
        void this.publish(sale);
        return;
      case 'done':
      case 'ended':
      case 'failed':
        context.ended[`sell ${value}`] = (context.ended[`sell ${value}`] ?? 0) + 1;
        if (this.sale === sale) this.sale = undefined;
        this.offerIn(value === 'failed' ? FAILURE_BACKOFF_MS : REOFFER_MS);
        return;
      default:
        return;
    }
  }

  private async placeBid(sale: Sale): Promise<void> {
    const { article, priceSats } = sale.state.context;
    try {
      const answer = await this.link.placeBid(article, 'sell', priceSats);
      const bidId = answer === 'duplicate' ? recovered(this.context, this.claims.claimLike('sell', article, priceSats)) : answer.bidId;
      if (bidId === undefined) {
        this.context.orphanBids++;
        return this.fail(sale, 'the bid was placed but its id was lost');
      }
      this.claims.claim(bidId);
      this.step(sale, { type: 'BID_PLACED', nowMs: this.context.clock.now(), bidId });
      const early = this.claims.takeEarly(bidId);
      if (early !== undefined) this.receive(early);
    } catch (error) {
      this.fail(sale, `placeBid: ${describe(error)}`);
    }
  }

  private async publish(sale: Sale): Promise<void> {
    const { txId, encryptedFileKey, receipt, resultKey } = sale.state.context;
    try {
      await this.link.txMessage(txId!, 'encresult', { encresulthash: encryptedFileKey!, encresulthashsig: receipt!, encresultkey: resultKey! });
    } catch (error) {
      return this.fail(sale, `encresult: ${describe(error)}`);
    }
    const buyer = sale.buyer!;
    this.context.clock.setTimer(() => buyer.receiveKey(txId!, resultKey!), peerLatencyMs(this.context));
    this.step(sale, { type: 'PUBLISHED', nowMs: this.context.clock.now() });
  }

  /** The buyer daemon's message: the work and the buyer secret. */
  receiveWork(txId: string, buyerSecret: string): void {
    const sale = this.sale;
    if (sale === undefined || sale.state.context.txId !== txId || sale.state.value !== 'matched' || sale.vanished) return;
    if (this.kind === 'flaky' && this.context.prng.nextFloat() < 0.5) {
      sale.vanished = true; // gone with the work: the transaction times out and the buyer is refunded
      return;
    }
    void this.link.txMessage(txId, 'buyersecret', { buyersecret: buyerSecret }).then(
      () => this.step(sale, { type: 'WORK_RECEIVED', nowMs: this.context.clock.now(), workFileKey: hex(this.context.prng), buyerSecret }),
      (error: unknown) => this.fail(sale, `buyersecret: ${describe(error)}`),
    );
  }

  /** The buyer's receipt for the encrypted result. */
  receiveReceipt(txId: string, receipt: string): void {
    const sale = this.sale;
    if (sale === undefined || sale.state.context.txId !== txId || sale.state.value !== 'delivering') return;
    this.step(sale, { type: 'RECEIPT', nowMs: this.context.clock.now(), receipt });
  }

  private receive(event: PushedEvent): void {
    const sale = this.sale;
    const nowMs = this.context.clock.now();
    switch (event.type) {
      case 'bidAccepted':
        if (event.participant === this.address) this.claims.accepted(event);
        return;
      case 'trade':
        if (event.seller !== this.address) return;
        if (sale === undefined || sale.state.context.bidId !== event.sellBidId) return this.claims.keepEarly(event.sellBidId, event);
        sale.buyer = this.context.buyersByAddress.get(event.buyer);
        if (this.kind === 'adaptive') this.askSats = Math.round(this.askSats * 1.05);
        this.step(sale, { type: 'MATCHED', nowMs, txId: event.txId, buyer: event.buyer });
        return;
      case 'bidExpired':
        if (sale === undefined || sale.state.context.bidId !== event.bidId) return this.claims.keepEarly(event.bidId, event);
        if (this.kind === 'adaptive') this.askSats = Math.max(100, Math.round(this.askSats * 0.95));
        this.step(sale, { type: 'BID_ENDED', nowMs, reason: 'the bid expired unmatched' });
        return;
      case 'txRetired':
        if (sale === undefined || sale.state.context.txId !== event.txId) return;
        if (sale.state.value === 'receipted') return; // its encresult answer will settle it
        this.fail(sale, `the transaction ended in ${event.phase}`);
        return;
      default:
        return;
    }
  }

  private reconcile(): void {
    if (this.sale !== undefined) void this.reconcileOne(this.sale);
  }
}
