// The buyer side: carries out what each purchase's trade logic decides (src/machines/trade-logic.ts),
// on the daemon's trade runtime. A purchase is cleared (a worker of this daemon takes it locally
// and free; or a buy mandate or the request's own price allows a bid), bids, and on a match
// commits to the work, sends it to the seller with the buyer secret, receives the encrypted
// result, signs the receipt, gets the key, decrypts and checks the result, and accepts it. Every
// fact it reports names the bid or transaction it is about, so a late answer about an earlier
// attempt changes nothing.
import { fileSource, importFile, readFileBytes, type FileSource } from '../cafs/files.js';
import { cafsReceiver, sendFile, type CafsProtocol } from '../cafs/sync.js';
import { createNonce } from '../crypto/nonce.js';
import { signMessage, verifyMessage } from '../crypto/signmessage.js';
import type { BuyEffect, BuyFact } from '../machines/trade-logic.js';
import type { BuyContext, BuyInput, BuyState } from '../machines/trade.js';
import { ProtocolError } from '../transport/errors.js';
import { RpcPeer } from '../transport/rpc.js';
import { TxRetiredError, WAIT_FOREVER_MS, type TxView } from './exchange-link.js';
import { decryptResult, openSealedKey, ResultDecryptionError } from './fair-exchange.js';
import { resultHashOf, verificationOf } from '../market/evidence.js';
import { sellerRefusal } from '../market/reputation.js';
import { checkResult, type CheckPort, type ResultClaim } from './result-checker.js';
import { dialPeer, handshakeText } from './peer-link.js';
import { helloText, peerProtocol, PEER_RESULT_TIMEOUT_MS, resultTransferId, welcomeText, workTransferId, type PeerProtocol } from '../protocol/peer.js';
import type { Seller } from './seller.js';
import type { Executor, TradeHandle, TradeRuntime } from './trade-runtime.js';
import { describe, isUncertain, pause, randomHex, StoppedError, TRADE_HISTORY_MAX, withdrawQuietly, type TradeDeps } from './trading.js';

export type BuyActor = TradeHandle<'buy'>;

/** The transaction a peer session is for, and where its seller said it can be reached. */
interface SellerOfTx {
  readonly txId: string;
  readonly workerUrl: string;
}

/** What a buy request may say about permission (not saved: a restart before clearance cancels). */
export interface BuyPermission {
  /** An explicit price limit: bid at once at this price, no mandate needed. */
  readonly priceSats?: number;
  /** How long to wait for a mandate or a local worker before giving up (default: not at all). */
  readonly waitMs?: number;
  /** Sellers not to buy from (the request's `?avoid=`). */
  readonly avoid?: readonly string[];
  /** A witness purchase (the same work bought again to check another seller's result): never on a local worker. */
  readonly witness?: true;
}

/** A witness purchase's result, handed to the check that bought it, which accepts or rejects it. */
interface WitnessWait {
  report(claim: ResultClaim | null): void;
}

/** Pause between attempts to reach a seller that dropped the connection. */
const RECONNECT_PAUSE_MS = 2_000;

/** The work's transfer to the seller: its size, its chunks, and what of it had to be sent. */
export interface WorkSent {
  readonly txId: string;
  readonly bytes: number;
  readonly chunks: number;
  readonly chunksSent: number;
  /** Chunk bytes on the wire (compressed); chunks the seller held already cost nothing. */
  readonly bytesSent: number;
}

/** How long a seller has to confirm a cancel before the buyer ends the purchase anyway. */
const PEER_CANCEL_TIMEOUT_MS = 5_000;
/**
 * A witness purchase that no seller has matched by then is given up: the check goes on without it
 * (when no other seller is on the market, waiting out the bid's lifetime would hold up the purchase
 * that is being checked for minutes).
 */
export const WITNESS_MATCH_WAIT_MS = 15_000;

/** Transfers remembered for the API (the newest ones). */
const WORK_SENT_KEPT_MAX = 10_000;

export class Buyer implements Executor<'buy'> {
  private readonly permissions = new Map<string, BuyPermission>();
  /** The open peer session of each trade, with the transaction it was opened for. */
  private readonly sessions = new Map<string, { readonly txId: string; readonly peer: RpcPeer<PeerProtocol> }>();
  /** What sending each trade's work put on the wire (kept while the daemon runs, for the API). */
  private readonly workSent = new Map<string, WorkSent>();
  private counter = 0;
  /** Witness purchases waiting for their result, by trade id. */
  private readonly witnessWaits = new Map<string, WitnessWait>();
  /** Results decrypted and stored while their check runs (the file key VERIFIED reports), by trade id. */
  private readonly checkedResults = new Map<string, string>();

  constructor(
    private readonly deps: TradeDeps,
    private readonly runtime: TradeRuntime,
    private readonly seller: Seller,
    private readonly attemptsMax: number,
  ) {
    runtime.serve('buy', this);
  }

  /** This side's trades by id, in the order they were started. */
  get actors(): ReadonlyMap<string, BuyActor> {
    return new Map(this.runtime.trades('buy').map((trade) => [trade.tradeId, trade as BuyActor]));
  }

  /** What sending the trade's work to its (latest) seller put on the wire, once sent. */
  workSentOf(tradeId: string): WorkSent | undefined {
    return this.workSent.get(tradeId);
  }

  /** Continues trade ids after the saved ones (so a new purchase never overwrites history). */
  resumeIds(states: readonly BuyState[]): void {
    for (const state of states) this.counter = Math.max(this.counter, Number(state.context.tradeId.split('-')[1]) || 0);
  }

  /** Starts a purchase of `article` for work already in CAFS. */
  buy(article: string, work: { fileKey: string; size: number }, permission: BuyPermission): BuyActor {
    const input: BuyInput = {
      tradeId: `b-${++this.counter}`,
      article,
      workFileKey: work.fileKey,
      workSize: work.size,
      attemptsMax: this.attemptsMax,
      nowMs: this.now(),
      clearanceWaitMs: permission.waitMs ?? 0,
      ...(permission.avoid === undefined ? {} : { avoid: permission.avoid }),
    };
    this.permissions.set(input.tradeId, permission);
    return this.runtime.spawn('buy', input);
  }

  private now(): number {
    return this.deps.clock.now();
  }

  private context(tradeId: string): BuyContext {
    return (this.runtime.stateOf(tradeId) as BuyState).context;
  }

  private send(tradeId: string, fact: BuyFact): boolean {
    return this.runtime.send(tradeId, fact);
  }

  /** What an effect's error means: the transaction it was about failed; before any, the trade. */
  failure(tradeId: string, effect: BuyEffect, error: unknown): BuyFact {
    const reason = describe(error);
    if (effect.type === 'seekClearance') return { type: 'CANCEL', nowMs: this.now(), reason };
    return { type: 'FAIL', nowMs: this.now(), txId: 'txId' in effect ? effect.txId : null, reason };
  }

  async execute(tradeId: string, effect: BuyEffect, phase: AbortSignal): Promise<void> {
    const { deps } = this;
    switch (effect.type) {
      case 'seekClearance':
        return this.clear(tradeId, effect.article, phase);
      case 'runLocal':
        return this.runLocally(tradeId, effect.workerId);
      case 'placeBid':
        return this.placeBid(tradeId, effect, phase);
      case 'useMandate':
        return deps.mandates.use(effect.mandateId);
      case 'releaseMandate':
        return deps.mandates.release(effect.mandateId);
      case 'watchBid':
        return this.awaitMatch(tradeId, effect.bidId, phase);
      case 'withdrawBid':
        return withdrawQuietly(deps, `buy ${tradeId}`, effect.bidId);
      case 'commitWork':
        return this.commit(tradeId, effect, phase);
      case 'sendWork':
        return this.transfer(tradeId, effect);
      case 'fetchKey':
        return this.fetchKey(tradeId, effect, phase);
      case 'verify':
        return this.verify(tradeId, effect);
      case 'closeSession':
        if (this.sessions.get(tradeId)?.txId === effect.txId) this.closeSession(tradeId);
        return;
      case 'ignored':
        deps.log(`buy ${tradeId}: ignored ${effect.fact}: ${effect.why}`);
        return;
      case 'ended':
        this.witnessWaits.get(tradeId)?.report(null); // a witness purchase that failed: the check goes on without it
        this.witnessWaits.delete(tradeId);
        // A witness's result stays until the check that bought it has used it (it deletes it then).
        if (this.permissions.get(tradeId)?.witness !== true) this.checkedResults.delete(tradeId);
        this.permissions.delete(tradeId);
        this.closeSession(tradeId);
        deps.tradeEnded();
        deps.log(`buy ${tradeId} ${effect.value}${effect.reason === null ? '' : `: ${effect.reason}`}`);
        return this.runtime.forgetOld('buy', TRADE_HISTORY_MAX);
    }
  }

  /** Results a check holds outside any trade's state (a witness's, until the check has used it). */
  filesInUse(): Iterable<string> {
    return this.checkedResults.values();
  }

  /** Local first, then a mandate, then the request's own price; else wait for one of them (the phase's deadline ends that). */
  private async clear(tradeId: string, article: string, phase: AbortSignal): Promise<void> {
    const { deps } = this;
    const permission = this.permissions.get(tradeId);
    if (permission === undefined) {
      this.send(tradeId, { type: 'CANCEL', nowMs: this.now(), reason: 'the daemon restarted before this buy was cleared' });
      return;
    }
    while (!phase.aborted) {
      // A witness must be another seller's result, signed on the exchange: never a local worker's.
      const workerId = permission.witness === true ? undefined : await this.seller.lendWorker(article);
      if (workerId !== undefined) {
        if (!this.send(tradeId, { type: 'LOCAL', nowMs: this.now(), workerId })) this.seller.returnWorker(workerId);
        return;
      }
      const mandate = deps.mandates.find('buy', article);
      if (mandate !== undefined) {
        deps.mandates.reserve(mandate.mandateId);
        // The request's own price, when given, caps the mandate's: the caller asked for no more.
        const priceSats = Math.min(mandate.priceSats, permission.priceSats ?? mandate.priceSats);
        if (!this.send(tradeId, { type: 'CLEARED', nowMs: this.now(), priceSats, clearedBy: mandate.mandateId })) deps.mandates.release(mandate.mandateId);
        return;
      }
      if (permission.priceSats !== undefined) {
        this.send(tradeId, { type: 'CLEARED', nowMs: this.now(), priceSats: permission.priceSats, clearedBy: 'request' });
        return;
      }
      if (this.context(tradeId).phaseEndsMs === null) {
        this.send(tradeId, { type: 'CANCEL', nowMs: this.now(), reason: `no permission to buy ${article}: create a buy mandate (POST /mandates) or give a price (?price=)` });
        return;
      }
      await this.nextChange(phase);
    }
  }

  /** Resolves when mandates or workers change, or the phase ends (its deadline, a cancel, the daemon stopping). */
  private nextChange(phase: AbortSignal): Promise<void> {
    const { deps } = this;
    return new Promise((resolve) => {
      const done = (): void => {
        stopMandates();
        stopWorkers();
        phase.removeEventListener('abort', done);
        resolve();
      };
      const stopMandates = deps.mandates.onChange(done);
      const stopWorkers = deps.workers.onChange(done);
      phase.addEventListener('abort', done);
    });
  }

  private async runLocally(tradeId: string, workerId: string): Promise<void> {
    const { deps } = this;
    try {
      const context = this.context(tradeId);
      const result = await deps.workers.run(workerId, await this.work(context), tradeId, deps.stopping);
      await this.check(context, result);
      const stored = await importFile(deps.cafs, [result]);
      this.send(tradeId, { type: 'VERIFIED', nowMs: this.now(), txId: null, resultFileKey: stored.fileKey });
    } finally {
      this.seller.returnWorker(workerId);
    }
  }

  /** Tells the seller (where a session is open) that the purchase is given up, then ends it. */
  private async cancelMatched(tradeId: string, txId: string | null, reason: string): Promise<string | undefined> {
    const session = this.sessions.get(tradeId);
    if (session !== undefined && session.txId === txId) {
      await session.peer.request('peer.cancel', { txId, reason }, { timeoutMs: PEER_CANCEL_TIMEOUT_MS }).catch((error: unknown) => this.deps.log(`buy ${tradeId}: the seller did not take the cancel (${describe(error)}); the transaction's deadline refunds it`));
    }
    return this.send(tradeId, { type: 'CANCEL', nowMs: this.now(), reason }) ? undefined : `${tradeId} has moved on; look at the trade again`;
  }

  private async placeBid(tradeId: string, { article, priceSats, avoid }: Extract<BuyEffect, { type: 'placeBid' }>, phase: AbortSignal): Promise<void> {
    const { deps } = this;
    for (;;) {
      if (phase.aborted) return;
      try {
        const placed = await deps.link.client.placeBid(article, 'buy', priceSats, avoid);
        if (!this.send(tradeId, { type: 'BID_PLACED', nowMs: this.now(), bidId: placed.bidId, endsMs: this.now() + deps.link.bidLifetimeMs(article) })) {
          await deps.link.client.withdrawBid(placed.bidId).catch(() => undefined); // the buy ended meanwhile (cancelled)
        }
        return;
      } catch (error) {
        if (!isUncertain(error)) throw error;
        // The bid may have been placed without our hearing of it: withdraw bids no trade knows, then bid again.
        await pause(deps, RECONNECT_PAUSE_MS);
        await this.withdrawOrphans().catch(() => undefined);
      }
    }
  }

  /**
   * Cancels a purchase at the user's request until its result arrives: before its bid, while the
   * bid rests (it is withdrawn first, which releases the held money), or while its transaction
   * runs (the seller is asked to stop its worker and reject the work, which refunds the buyer;
   * a seller that does not is refunded by the transaction's deadline). Resolves with undefined
   * when cancelled, or with why it cannot be (ended, result in, running locally).
   */
  async cancel(tradeId: string): Promise<string | undefined> {
    const actor = this.runtime.handle(tradeId);
    if (actor === undefined || actor.side !== 'buy') return `no purchase ${tradeId}`;
    const reason = 'cancelled by the user';
    // A bid on its way is withdrawn as soon as it is placed (one round trip to the exchange).
    const { value, context } = await actor.until((state) => state.value !== 'bidding', this.deps.stopping).catch(() => actor.state);
    if (value === 'clearance') return this.send(tradeId, { type: 'CANCEL', nowMs: this.now(), reason }) ? undefined : `${tradeId} has moved on; try again`;
    if (actor.isFinal) return `${tradeId} has ended (${value})`;
    if (value === 'matched' || value === 'transferring') return this.cancelMatched(tradeId, context.txId, reason);
    if (value !== 'bidPlaced' || context.bidId === null) return `${tradeId} is ${value}: ${value === 'local' ? 'a worker of this daemon is running it' : `the result of transaction ${context.txId} is in; the purchase ends in a moment`}`;
    try {
      await this.deps.link.client.withdrawBid(context.bidId);
    } catch (error) {
      return `the bid ${context.bidId} could not be withdrawn (${describe(error)}): it may have matched; look at the trade again`;
    }
    return this.send(tradeId, { type: 'CANCEL', nowMs: this.now(), reason }) ? undefined : `${tradeId} has moved on; look at the trade again`;
  }

  /** Withdraws our open buy bids that no live trade of this daemon holds. */
  async withdrawOrphans(alsoKnown: ReadonlySet<string | null> = new Set()): Promise<number> {
    const { deps } = this;
    const known = new Set([...alsoKnown, ...this.runtime.trades().map((trade) => (trade.state.context as { readonly bidId: string | null }).bidId)]);
    let withdrawn = 0;
    for (const bidId of await deps.link.openBids()) {
      if (known.has(bidId)) continue;
      await deps.link.client.withdrawBid(bidId).then(() => withdrawn++, () => undefined);
    }
    return withdrawn;
  }

  /** Waits for the bid's outcome (the phase's deadline ends the wait when no word comes). */
  private async awaitMatch(tradeId: string, bidId: string, phase: AbortSignal): Promise<void> {
    const outcome = await this.deps.link.bidSettled(bidId, phase);
    if (outcome.kind === 'matched') {
      this.send(tradeId, { type: 'MATCHED', nowMs: this.now(), bidId, txId: outcome.txId, buyerSecret: randomHex(this.deps, 32), deal: outcome.deal, seller: outcome.counterparty });
    } else {
      this.send(tradeId, { type: 'BID_ENDED', nowMs: this.now(), bidId, reason: 'the bid ended unmatched' });
    }
  }

  /** Publishes the work hash and its secret hash, then waits for the seller's peer URL. */
  private async commit(tradeId: string, { txId, workHash, workSecretHash }: Extract<BuyEffect, { type: 'commitWork' }>, phase: AbortSignal): Promise<void> {
    const { deps } = this;
    const { seller, clearedBy } = this.context(tradeId);
    // The seller's public counts are read alongside the transaction (no extra round trip).
    const [tx, reputation] = await Promise.all([this.transaction(txId, 'the seller never answered'), seller === null ? undefined : deps.link.reputation(seller).catch(() => undefined)]);
    this.noteTxDeadline(tradeId, txId, tx);
    if (tx['workHash'] === null) {
      // Before the work is committed: a seller with too many lost disputes gets nothing (the transaction times out, refunded).
      const refused = reputation === undefined ? null : sellerRefusal(reputation.address, reputation.sales, deps.mandates.sellerDisputesLostMax(clearedBy));
      if (refused !== null) throw new Error(refused);
      await deps.link.client.txMessage(txId, 'workhash', { workhash: workHash, worksecrethash: workSecretHash });
    }
    const workerUrl = await deps.link.waitUntil(
      async () => {
        const current = await this.transaction(txId, 'the seller never answered');
        return typeof current['workerUrl'] === 'string' ? current['workerUrl'] : undefined;
      },
      WAIT_FOREVER_MS,
      `the seller of ${txId}`,
      phase,
    );
    this.send(tradeId, { type: 'SELLER_READY', nowMs: this.now(), txId, workerUrl });
  }

  /** The transaction's phase deadline, as the exchange keeps it, is this trade's phase end. */
  private noteTxDeadline(tradeId: string, txId: string, tx: TxView): void {
    if (typeof tx['deadlineMs'] === 'number') this.send(tradeId, { type: 'TX_DEADLINE', nowMs: this.now(), txId, deadlineMs: tx['deadlineMs'] });
  }

  /** The transaction; its end becomes an error that names what went wrong. */
  private async transaction(txId: string, whenEnded: string): Promise<TxView> {
    try {
      return await this.deps.link.transaction(txId);
    } catch (error) {
      if (error instanceof TxRetiredError) throw new Error(`${whenEnded}: ${error.message}`);
      throw error;
    }
  }

  /** Sends the work and the secret, and receives the encrypted result. */
  private async transfer(tradeId: string, { txId, workerUrl, workFileKey, buyerSecret }: Extract<BuyEffect, { type: 'sendWork' }>): Promise<void> {
    const { deps } = this;
    const manifest = await deps.cafs.loadFile(workFileKey);
    if (manifest === undefined) throw new Error(`the work ${workFileKey} is missing from CAFS`);
    const result = await this.withSeller(tradeId, { txId, workerUrl }, async (peer) => {
      const sent = await sendFile(peer as unknown as RpcPeer<CafsProtocol>, deps.cafs, manifest, { transferId: workTransferId(txId) });
      if (this.workSent.size >= WORK_SENT_KEPT_MAX) this.workSent.delete(this.workSent.keys().next().value!);
      this.workSent.set(tradeId, { txId, bytes: manifest.size, chunks: sent.chunks, chunksSent: sent.chunksSent, bytesSent: sent.bytesSent });
      await peer.request('peer.secret', { txId, buyerSecret });
      return peer.request('peer.result', { txId }, { timeoutMs: PEER_RESULT_TIMEOUT_MS });
    });
    if ((await deps.cafs.loadFile(result.encryptedFileKey)) === undefined) throw new Error('the seller named an encrypted result it never sent');
    this.send(tradeId, { type: 'RESULT_RECEIVED', nowMs: this.now(), txId, encryptedFileKey: result.encryptedFileKey });
  }

  /** Signs the receipt and gets the key: from the seller directly, or as published on the exchange. */
  private async fetchKey(tradeId: string, { txId, workerUrl, encryptedFileKey }: Extract<BuyEffect, { type: 'fetchKey' }>, phase: AbortSignal): Promise<void> {
    const { deps } = this;
    const receipt = deps.link.client.signReceipt(encryptedFileKey);
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, phase]);
    const fromSeller = this.withSeller(tradeId, { txId, workerUrl }, (peer) => peer.request('peer.receipt', { txId, signature: receipt }), signal).then((answer) => answer.resultKey);
    const fromExchange = deps.link.waitUntil(
      async () => {
        const tx = await this.transaction(txId, 'no key was published');
        // Sealed to this buyer: nobody else who asks the exchange can open it.
        return typeof tx['encResultKey'] === 'string' ? openSealedKey(tx['encResultKey'], deps.identity.privateKey) : undefined;
      },
      WAIT_FOREVER_MS,
      `the key of ${txId}`,
      signal,
    );
    try {
      const resultKey = await firstSuccess([fromSeller, fromExchange]);
      this.send(tradeId, { type: 'KEY', nowMs: this.now(), txId, resultKey });
    } finally {
      stop.abort('done');
    }
  }

  /**
   * Decrypts and checks the result (the article's check, and that it is what the seller committed
   * to), then settles it through the result checker: accepted, or rejected on the exchange, with
   * evidence from witness purchases where the article's results are replicable.
   */
  private async verify(tradeId: string, { txId, encryptedFileKey, resultKey }: Extract<BuyEffect, { type: 'verify' }>): Promise<void> {
    const { deps } = this;
    const manifest = await deps.cafs.loadFile(encryptedFileKey);
    if (manifest === undefined) throw new Error('the encrypted result is missing from CAFS');
    const context = this.context(tradeId);
    // Retired (the receipt stood at the deadline): paid already, nothing to compare. Other errors end the effect.
    const tx = await deps.link.transaction(txId).catch((error: unknown) => {
      if (error instanceof TxRetiredError) return undefined;
      throw error;
    });
    let problem: string | null = null;
    let result: Uint8Array = new Uint8Array();
    try {
      result = decryptResult(await readFileBytes(deps.cafs, manifest), resultKey);
      await this.check(context, result);
      const committed = typeof tx?.['resultHash'] === 'string' ? tx['resultHash'] : null;
      if (committed !== null && resultHashOf(result) !== committed) problem = 'the result is not the one the seller committed to (resulthash)';
    } catch (error) {
      problem = describe(error).slice(0, 200);
    }
    if (problem === null) this.checkedResults.set(tradeId, (await importFile(deps.cafs, [result])).fileKey);
    const claim: ResultClaim = { tradeId, txId, seller: typeof tx?.['seller'] === 'string' ? tx['seller'] : '', resultHash: typeof tx?.['resultHash'] === 'string' ? tx['resultHash'] : '', checkedOk: problem === null, problem };
    const wait = this.witnessWaits.get(tradeId);
    if (wait !== undefined) {
      this.witnessWaits.delete(tradeId);
      return wait.report(claim); // the check that bought this witness settles it
    }
    // Without the transaction (it retired: the receipt stood) there is nothing to compare or dispute.
    const policy = tx === undefined ? { ...verificationOf(context.article), replicable: false } : verificationOf(context.article);
    const outcome = await checkResult(this.checkPort(), policy, claim);
    const { replacement } = outcome;
    const replacementFileKey = replacement === null ? undefined : this.checkedResults.get(replacement.tradeId);
    for (const witness of outcome.witnesses) this.checkedResults.delete(witness.tradeId);
    if (replacement !== null && replacementFileKey !== undefined) {
      // The seller's result was outvoted; a witness's (the same work, paid as the check) is the purchase's result.
      deps.log(`buy ${tradeId}: ${outcome.reason ?? 'the result is wrong'}; using the result of ${replacement.tradeId} from ${replacement.seller}`);
      return void this.send(tradeId, { type: 'VERIFIED', nowMs: this.now(), txId, resultFileKey: replacementFileKey, seller: replacement.seller });
    }
    if (!outcome.accepted) throw new ResultDecryptionError(outcome.reason ?? 'the result is wrong');
    this.send(tradeId, { type: 'VERIFIED', nowMs: this.now(), txId, resultFileKey: this.checkedResults.get(tradeId)! });
  }

  /** The result checker's port: witness purchases, settling on the exchange, the seller's history. */
  private checkPort(): CheckPort {
    const { deps } = this;
    const isWitness = (claim: ResultClaim): boolean => this.permissions.get(claim.tradeId)?.witness === true;
    return {
      buyWitness: (parent, avoid) => {
        const context = this.context(parent.tradeId);
        // The same permission as the purchase checked: its request price, else a mandate (which counts the witness as a trade).
        const priceSats = this.permissions.get(parent.tradeId)?.priceSats;
        const witness = this.buy(context.article, { fileKey: context.workFileKey, size: context.workSize }, { avoid, witness: true, ...(priceSats === undefined ? {} : { priceSats }) });
        deps.log(`buy ${parent.tradeId}: buying the same work as ${witness.tradeId} to check the result of ${parent.txId}`);
        const unmatched = deps.clock.setTimer(() => {
          const state = this.runtime.handle(witness.tradeId)?.state.value;
          if (state === 'bidding' || state === 'bidPlaced' || state === 'clearance') {
            void this.cancel(witness.tradeId).then((why) => why !== undefined && deps.log(`buy ${witness.tradeId}: not given up (${why})`));
          }
        }, WITNESS_MATCH_WAIT_MS);
        return new Promise((resolve) => this.witnessWaits.set(witness.tradeId, {
          report: (claim) => {
            deps.clock.clearTimer(unmatched);
            resolve(claim);
          },
        }));
      },
      accept: async (claim) => {
        try {
          await deps.link.client.txMessage(claim.txId, 'acceptresult');
        } catch (error) {
          if (!(error instanceof ProtocolError) || error.errorName !== 'tx_not_found') throw error; // retired meanwhile: paid at the deadline
        }
        if (isWitness(claim)) this.send(claim.tradeId, { type: 'VERIFIED', nowMs: this.now(), txId: claim.txId, resultFileKey: this.checkedResults.get(claim.tradeId)! });
      },
      reject: async (claim, reason, witnesses) => {
        await deps.link.client.txMessage(claim.txId, 'rejectresult', { reason: reason.slice(0, 200) }).catch(() => undefined);
        if (witnesses.length > 0) {
          await deps.link.client.submitEvidence(claim.txId, witnesses).then(
            (settled) => deps.log(`buy ${claim.tradeId}: evidence from ${witnesses.join(', ')} settled ${claim.txId}: ${settled.refundSats} sat back`),
            (error: unknown) => deps.log(`buy ${claim.tradeId}: the exchange refused the evidence for ${claim.txId}: ${describe(error)}`),
          );
        }
        if (isWitness(claim)) this.send(claim.tradeId, { type: 'FAIL', nowMs: this.now(), txId: claim.txId, reason });
      },
      finishedSales: (seller) => deps.link.reputation(seller).then((reputation) => reputation.sales.finished, () => 0),
      draw: () => Buffer.from(deps.random(4)).readUInt32BE() / 2 ** 32,
      log: (line) => deps.log(`buy ${line}`),
    };
  }

  /** Runs the article's result check, if it has one (reading the work only then). */
  private async check(context: BuyContext, result: Uint8Array): Promise<void> {
    const verifier = this.deps.verifiers(context.article);
    if (verifier === undefined) return;
    const wrong = await verifier(await this.work(context), result);
    if (wrong !== null) throw new ResultDecryptionError(`the result is wrong (${context.article}): ${wrong}`);
  }

  /** The trade's work, to stream from the store (it need not fit in memory). */
  private async work(context: BuyContext): Promise<FileSource> {
    const manifest = await this.deps.cafs.loadFile(context.workFileKey);
    if (manifest === undefined) throw new Error(`the work ${context.workFileKey} is missing from CAFS`);
    return fileSource(this.deps.cafs, manifest);
  }

  /**
   * Runs `exchange` over an authenticated session with the transaction's seller, reconnecting after
   * a dropped connection while the transaction is still active. Protocol refusals end it.
   */
  private async withSeller<T>(tradeId: string, seller: SellerOfTx, exchange: (peer: RpcPeer<PeerProtocol>) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const { deps } = this;
    for (;;) {
      if (deps.stopping.aborted) throw new StoppedError('the daemon is stopping');
      if (signal?.aborted) throw new StoppedError('no longer needed');
      try {
        return await exchange(await this.session(tradeId, seller));
      } catch (error) {
        const dropped = error instanceof ProtocolError ? isUncertain(error) : true;
        if (!dropped) throw error;
        this.closeSession(tradeId);
        await this.transaction(seller.txId, `the seller went away (${describe(error)})`);
        await pause(deps, RECONNECT_PAUSE_MS);
      }
    }
  }

  /** The open, authenticated connection to this trade's seller, or a new one. */
  private async session(tradeId: string, { txId, workerUrl }: SellerOfTx): Promise<RpcPeer<PeerProtocol>> {
    const { deps } = this;
    const open = this.sessions.get(tradeId);
    // A session belongs to one transaction: never talk to an earlier attempt's seller.
    if (open !== undefined && open.txId === txId && open.peer.isOpen) return open.peer;
    this.closeSession(tradeId);
    const tx = await this.transaction(txId, 'the transaction ended');
    this.noteTxDeadline(tradeId, txId, tx);
    const receiver = cafsReceiver(deps.cafs);
    const resultOnly = <B extends { transferId: string }>(body: B): B => {
      if (body.transferId !== resultTransferId(txId)) throw ProtocolError.of('invalid_body', `expected transfer "${resultTransferId(txId)}"`);
      return body;
    };
    const exchangeId = deps.link.info.exchangeId;
    const seller = String(tx['seller']);
    const link = await dialPeer({ workerUrl, txId, seller, exchangeId, identity: deps.identity, staticKeyPair: deps.staticKeyPair, clock: deps.clock, random: deps.random });
    const peer = new RpcPeer(link.connection, peerProtocol, {
      'cafs.offer': (body, context) => receiver['cafs.offer']!(resultOnly(body), context as never),
      'cafs.chunks': (body, context) => receiver['cafs.chunks']!(resultOnly(body), context as never),
      'cafs.done': (body, context) => receiver['cafs.done']!(resultOnly(body), context as never),
    }, { clock: deps.clock, requestTimeoutMs: PEER_RESULT_TIMEOUT_MS });
    const fields = { exchangeId, txId, nonce: createNonce(deps.clock, deps.random), handshake: handshakeText(link) };
    const signature = signMessage(helloText({ ...fields, buyer: deps.identity.address }), deps.identity.privateKey, { compressed: deps.identity.compressed });
    const welcome = await peer.request('peer.hello', { txId, buyer: deps.identity.address, nonce: fields.nonce, signature: new Uint8Array(Buffer.from(signature, 'base64')) }).catch((error: unknown) => {
      peer.close(1000, 'hello refused');
      throw error;
    });
    if (welcome.seller !== seller || !verifyMessage(welcomeText({ ...fields, seller }), seller, Buffer.from(welcome.signature).toString('base64'))) {
      peer.close(1000, 'not the seller');
      throw new Error(`the peer at ${workerUrl} is not the transaction's seller ${seller}`);
    }
    this.sessions.set(tradeId, { txId, peer });
    return peer;
  }

  /** Closes every peer connection (the daemon is stopping): pending requests on them fail at once. */
  closeSessions(): void {
    for (const tradeId of [...this.sessions.keys()]) this.closeSession(tradeId);
  }

  private closeSession(tradeId: string): void {
    this.sessions.get(tradeId)?.peer.close(1000, 'transaction over');
    this.sessions.delete(tradeId);
  }
}

/** The first promise to resolve; rejects only when all reject (with the first rejection). */
function firstSuccess<T>(promises: readonly Promise<T>[]): Promise<T> {
  return Promise.any(promises).catch((error: AggregateError) => {
    throw error.errors[0];
  });
}
