// The buyer side: each purchase is a buy trade. It is cleared (a worker of this daemon takes it
// locally and free; or a buy mandate or the request's own price allows a bid), bids, and on a match
// commits to the work, sends it to the seller with the buyer secret, receives the encrypted
// result, signs the receipt, gets the key, decrypts and checks the result, and accepts it. A failed
// transaction costs an attempt and the trade bids again while attempts remain.
import { importFile, readFileBytes } from '../cafs/files.js';
import { cafsReceiver, sendFile, type CafsProtocol } from '../cafs/sync.js';
import { createNonce } from '../crypto/nonce.js';
import { signMessage, verifyMessage } from '../crypto/signmessage.js';
import { buyPhase, type BuyPhaseOf } from '../machines/trade-phases.js';
import { workSecretHashOf } from '../machines/transaction.js';
import { buyTradeMachine, type BuyContext, type BuyEvent, type BuyInput, type BuyState, type BuyValue } from '../machines/trade.js';
import { ProtocolError } from '../transport/errors.js';
import { RpcPeer } from '../transport/rpc.js';
import { TxRetiredError, type TxView } from './exchange-link.js';
import { decryptResult, openSealedKey, ResultDecryptionError } from './fair-exchange.js';
import { dialPeer, handshakeText } from './peer-link.js';
import { helloText, peerProtocol, PEER_RESULT_TIMEOUT_MS, resultTransferId, welcomeText, workTransferId, type PeerProtocol } from '../protocol/peer.js';
import type { Seller } from './seller.js';
import { TradeActor } from './trade-actor.js';
import { describe, Drivers, forgetOldTrades, isUncertain, pause, randomHex, StoppedError, type TradeDeps } from './trading.js';

export type BuyActor = TradeActor<BuyValue, BuyContext, BuyEvent>;

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
}

/** Pause between attempts to reach a seller that dropped the connection. */
const RECONNECT_PAUSE_MS = 2_000;
const BID_GRACE_MS = 60_000;
const NO_SELLER = 'no seller took bid';
/** How long to wait for the seller to announce its peer URL: the transaction's own deadline ends it sooner. */
const SELLER_WAIT_MS = 10 * 60_000;

export class Buyer {
  readonly actors = new Map<string, BuyActor>();
  private readonly permissions = new Map<string, BuyPermission>();
  /** When each live trade's current phase ends at the latest (ms), where known: shown as progress. */
  private readonly phaseEnds = new Map<string, number>();
  /** Mandates reserved by buys that have not placed their first bid, by trade id. */
  private readonly reservations = new Map<string, string>();
  /** The open peer session of each trade, with the transaction it was opened for. */
  private readonly sessions = new Map<string, { readonly txId: string; readonly peer: RpcPeer<PeerProtocol> }>();
  private counter = 0;

  constructor(
    private readonly deps: TradeDeps,
    private readonly seller: Seller,
    private readonly attemptsMax: number,
  ) {}

  /** When the trade's current phase ends at the latest (ms since the epoch), where known. */
  phaseEndsMs(tradeId: string): number | null {
    return this.phaseEnds.get(tradeId) ?? null;
  }

  /** Takes up saved trades after a restart (oldest first): ended ones as history, the rest resume. */
  async resume(states: readonly BuyState[]): Promise<void> {
    for (const state of states) {
      this.counter = Math.max(this.counter, Number(state.context.tradeId.split('-')[1]) || 0);
      const actor = new TradeActor('buy', state.context.tradeId, state, buyTradeMachine.compiled, this.save);
      if (actor.isFinal) this.actors.set(actor.tradeId, actor);
      else this.track(actor);
    }
    await forgetOldTrades(this.actors, this.deps.store);
  }

  /** Starts a purchase of `article` for work already in CAFS. */
  async buy(article: string, work: { fileKey: string; size: number }, permission: BuyPermission): Promise<BuyActor> {
    const input: BuyInput = { tradeId: `b-${++this.counter}`, article, workFileKey: work.fileKey, workSize: work.size, attemptsMax: this.attemptsMax, nowMs: this.deps.clock.now() };
    const state = buyTradeMachine.compiled.initial(input);
    await this.save('buy', input.tradeId, state);
    const actor = new TradeActor('buy', input.tradeId, state, buyTradeMachine.compiled, this.save);
    this.permissions.set(input.tradeId, permission);
    this.track(actor);
    return actor;
  }

  private readonly save = (side: 'buy' | 'sell', tradeId: string, state: BuyState): Promise<void> => this.deps.store.saveTrade(side, tradeId, state);

  private readonly drivers = new Drivers();

  /** Resolves when every driver has returned (after the daemon's stop signal). */
  idle(): Promise<void> {
    return this.drivers.idle();
  }

  private track(actor: BuyActor): void {
    this.actors.set(actor.tradeId, actor);
    this.drivers.start(() => this.drive(actor));
  }

  private async drive(actor: BuyActor): Promise<void> {
    const { deps } = this;
    try {
      while (!actor.isFinal && !deps.stopping.aborted) await this.advance(actor);
    } catch (error) {
      if (!deps.stopping.aborted) {
        // The failed transaction's peer session is over: the next attempt has another seller.
        this.closeSession(actor.tradeId);
        const failed = await actor.send({ type: 'FAIL', nowMs: deps.clock.now(), reason: describe(error) });
        if (!failed) await actor.send({ type: 'CANCEL', nowMs: deps.clock.now(), reason: describe(error) });
        if (!actor.isFinal) return this.drive(actor); // FAIL started a new attempt
      }
    } finally {
      this.permissions.delete(actor.tradeId);
      // Ended (or stopped) without a bid: the mandate's trade was never spent.
      const reserved = this.reservations.get(actor.tradeId);
      if (reserved !== undefined) deps.mandates.release(reserved);
      this.reservations.delete(actor.tradeId);
    }
    if (actor.isFinal) {
      this.phaseEnds.delete(actor.tradeId);
      this.closeSession(actor.tradeId);
      deps.log(`buy ${actor.tradeId} ${actor.state.value}${actor.state.context.error === null ? '' : `: ${actor.state.context.error}`}`);
      await forgetOldTrades(this.actors, deps.store);
    }
  }

  /** Does what the trade's state asks for; each step gets the state with what it guarantees. */
  private async advance(actor: BuyActor): Promise<void> {
    const phase = buyPhase(actor.state);
    switch (phase.value) {
      case 'clearance':
        return this.clear(actor);
      case 'local':
        return this.runLocally(actor, phase);
      case 'bidding':
        return this.placeBid(actor, phase);
      case 'bidPlaced':
        return this.awaitMatch(actor, phase);
      case 'matched':
        return this.commit(actor, phase);
      case 'transferring':
        return this.transfer(actor, phase);
      case 'receipted':
        return this.fetchKey(actor, phase);
      case 'verifying':
        return this.verify(actor, phase);
      case 'done':
      case 'failed':
        return;
    }
  }

  private now(): number {
    return this.deps.clock.now();
  }

  /** Local first, then a mandate, then the request's own price; else wait for one of them or give up. */
  private async clear(actor: BuyActor): Promise<void> {
    const { deps } = this;
    const { article } = actor.state.context;
    const permission = this.permissions.get(actor.tradeId);
    if (permission === undefined) {
      await actor.send({ type: 'CANCEL', nowMs: this.now(), reason: 'the daemon restarted before this buy was cleared' });
      return;
    }
    const deadlineMs = this.now() + (permission.waitMs ?? 0);
    this.phaseEnds.set(actor.tradeId, deadlineMs);
    for (;;) {
      if (actor.isFinal) return; // cancelled while it waited
      const workerId = await this.seller.lendWorker(article);
      if (workerId !== undefined) {
        await actor.send({ type: 'LOCAL', nowMs: this.now(), workerId });
        return;
      }
      const mandate = deps.mandates.find('buy', article);
      if (mandate !== undefined) {
        deps.mandates.reserve(mandate.mandateId);
        this.reservations.set(actor.tradeId, mandate.mandateId);
        // The request's own price, when given, caps the mandate's: the caller asked for no more.
        const priceSats = Math.min(mandate.priceSats, permission.priceSats ?? mandate.priceSats);
        await actor.send({ type: 'CLEARED', nowMs: this.now(), priceSats, clearedBy: mandate.mandateId });
        return;
      }
      if (permission.priceSats !== undefined) {
        await actor.send({ type: 'CLEARED', nowMs: this.now(), priceSats: permission.priceSats, clearedBy: 'request' });
        return;
      }
      if (this.now() >= deadlineMs) {
        await actor.send({ type: 'CANCEL', nowMs: this.now(), reason: `no permission to buy ${article}: create a buy mandate (POST /mandates) or give a price (?price=)` });
        return;
      }
      await this.nextChange(actor, deadlineMs - this.now());
    }
  }

  /** Resolves when mandates or workers change, the trade ends (cancelled), the daemon stops, or after `ms`. */
  private nextChange(actor: BuyActor, ms: number): Promise<void> {
    const { deps } = this;
    return new Promise((resolve) => {
      const done = (): void => {
        stopMandates();
        stopWorkers();
        ended.abort();
        deps.stopping.removeEventListener('abort', done);
        deps.clock.clearTimer(timer);
        resolve();
      };
      const stopMandates = deps.mandates.onChange(done);
      const stopWorkers = deps.workers.onChange(done);
      const ended = new AbortController();
      actor.until(() => actor.isFinal, ended.signal).then(done, () => undefined);
      deps.stopping.addEventListener('abort', done);
      const timer = deps.clock.setTimer(done, ms);
    });
  }

  private async runLocally(actor: BuyActor, { context }: BuyPhaseOf<'local'>): Promise<void> {
    const { deps } = this;
    const workerId = context.clearedBy.slice('local:'.length);
    try {
      const result = await deps.workers.run(workerId, await this.readWork(context), context.tradeId, deps.stopping);
      await this.check(context, result);
      const stored = await importFile(deps.cafs, [result]);
      await actor.send({ type: 'VERIFIED', nowMs: this.now(), resultFileKey: stored.fileKey });
    } finally {
      this.seller.returnWorker(workerId);
    }
  }

  private async placeBid(actor: BuyActor, { context }: BuyPhaseOf<'bidding'>): Promise<void> {
    const { deps } = this;
    const { article, priceSats } = context;
    try {
      const placed = await deps.link.client.placeBid(article, 'buy', priceSats);
      await actor.send({ type: 'BID_PLACED', nowMs: this.now(), bidId: placed.bidId });
      await this.useMandate(actor);
    } catch (error) {
      if (!isUncertain(error)) throw error;
      // The bid may have been placed without our hearing of it: withdraw bids no trade knows, then bid again.
      await pause(deps, RECONNECT_PAUSE_MS);
      await this.withdrawOrphans().catch(() => undefined);
    }
  }

  /**
   * Cancels a purchase at the user's request while no transaction binds it: before its bid, or
   * while the bid rests (it is withdrawn first, which releases the held money). Resolves with
   * undefined when cancelled, or with why it cannot be (ended, matched, running locally).
   */
  async cancel(tradeId: string): Promise<string | undefined> {
    const actor = this.actors.get(tradeId);
    if (actor === undefined) return `no purchase ${tradeId}`;
    const reason = 'cancelled by the user';
    // A bid on its way is withdrawn as soon as it is placed (one round trip to the exchange).
    const { value, context } = await actor.until((state) => state.value !== 'bidding', this.deps.stopping).catch(() => actor.state);
    if (value === 'clearance') return (await actor.send({ type: 'CANCEL', nowMs: this.now(), reason })) ? undefined : `${tradeId} has moved on; try again`;
    if (actor.isFinal) return `${tradeId} has ended (${value})`;
    if (value !== 'bidPlaced' || context.bidId === null) return `${tradeId} is ${value}: ${value === 'local' ? 'a worker of this daemon is running it' : `transaction ${context.txId} is under way; it ends by its deadline`}`;
    try {
      await this.deps.link.client.withdrawBid(context.bidId);
    } catch (error) {
      return `the bid ${context.bidId} could not be withdrawn (${describe(error)}): it may have matched; look at the trade again`;
    }
    return (await actor.send({ type: 'CANCEL', nowMs: this.now(), reason })) ? undefined : `${tradeId} has moved on; look at the trade again`;
  }

  /**
   * The first bid of a buy cleared by a mandate spends one of its trades (also after a restart,
   * when the reservation is gone: the saved first bid of a resumed trade is its only record).
   */
  private async useMandate(actor: BuyActor): Promise<void> {
    const { attempts, clearedBy } = actor.state.context;
    if (attempts !== 1 || clearedBy === null || clearedBy === 'request' || clearedBy.startsWith('local:')) return;
    this.reservations.delete(actor.tradeId);
    await this.deps.mandates.use(clearedBy);
  }

  /** Withdraws our open buy bids that no live trade of this daemon holds. */
  async withdrawOrphans(alsoKnown: ReadonlySet<string | null> = new Set()): Promise<number> {
    const { deps } = this;
    const known = new Set([...alsoKnown, ...[...this.actors.values()].map((actor) => actor.state.context.bidId)]);
    for (const sell of this.seller.actors.values()) known.add(sell.state.context.bidId);
    let withdrawn = 0;
    for (const bidId of await deps.link.openBids()) {
      if (known.has(bidId)) continue;
      await deps.link.client.withdrawBid(bidId).then(() => withdrawn++, () => undefined);
    }
    return withdrawn;
  }

  private async awaitMatch(actor: BuyActor, { context }: BuyPhaseOf<'bidPlaced'>): Promise<void> {
    const { deps } = this;
    const { article, bidId } = context;
    const lifetimeMs = deps.link.info.articles.find((spec) => spec.articleId === article)?.bidLifetimeMs ?? 120_000;
    this.phaseEnds.set(actor.tradeId, context.updatedMs + lifetimeMs); // placed then
    const outcome = await deps.link.waitUntil(
      async () => {
        const found = await deps.link.bidOutcome(bidId);
        return found.kind === 'open' ? undefined : found;
      },
      lifetimeMs + BID_GRACE_MS,
      `the outcome of bid ${bidId}`,
      deps.stopping,
    );
    if (outcome.kind === 'matched') {
      await actor.send({ type: 'MATCHED', nowMs: this.now(), txId: outcome.txId, buyerSecret: randomHex(deps, 32), deal: outcome.deal });
    } else {
      const { attempts, attemptsMax, error } = context;
      // Say what the earlier attempts ended with too: "no seller" alone would not be true.
      const earlier = attempts > 1 && error !== null && !error.startsWith(NO_SELLER) ? `; the attempt before ended: ${error}` : '';
      await actor.send({ type: 'BID_ENDED', nowMs: this.now(), reason: `${NO_SELLER} ${attempts} of ${attemptsMax}${earlier}` });
    }
  }

  /** Publishes the work hash and its secret hash, then waits for the seller's peer URL. */
  private async commit(actor: BuyActor, { context }: BuyPhaseOf<'matched'>): Promise<void> {
    const { deps } = this;
    const { txId, workFileKey, buyerSecret } = context;
    const tx = await this.transaction(txId, 'the seller never answered');
    this.noteTxDeadline(actor, tx);
    if (tx['workHash'] === null) {
      await deps.link.client.txMessage(txId, 'workhash', { workhash: workFileKey, worksecrethash: workSecretHashOf(workFileKey, buyerSecret) });
    }
    const workerUrl = await deps.link.waitUntil(
      async () => {
        const current = await this.transaction(txId, 'the seller never answered');
        return typeof current['workerUrl'] === 'string' ? current['workerUrl'] : undefined;
      },
      SELLER_WAIT_MS,
      `the seller of ${txId}`,
      deps.stopping,
    );
    await actor.send({ type: 'SELLER_READY', nowMs: this.now(), workerUrl });
  }

  /** The transaction's phase deadline, as the exchange keeps it, is this trade's phase end. */
  private noteTxDeadline(actor: BuyActor, tx: TxView): void {
    if (typeof tx['deadlineMs'] === 'number') this.phaseEnds.set(actor.tradeId, tx['deadlineMs']);
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
  private async transfer(actor: BuyActor, { context }: BuyPhaseOf<'transferring'>): Promise<void> {
    const { deps } = this;
    const { txId, workFileKey, buyerSecret } = context;
    const manifest = await deps.cafs.loadFile(workFileKey);
    if (manifest === undefined) throw new Error(`the work ${workFileKey} is missing from CAFS`);
    const result = await this.withSeller(actor, context, async (peer) => {
      await sendFile(peer as unknown as RpcPeer<CafsProtocol>, deps.cafs, manifest, { transferId: workTransferId(txId) });
      await peer.request('peer.secret', { txId, buyerSecret });
      return peer.request('peer.result', { txId }, { timeoutMs: PEER_RESULT_TIMEOUT_MS });
    });
    if ((await deps.cafs.loadFile(result.encryptedFileKey)) === undefined) throw new Error('the seller named an encrypted result it never sent');
    await actor.send({ type: 'RESULT_RECEIVED', nowMs: this.now(), encryptedFileKey: result.encryptedFileKey });
  }

  /** Signs the receipt and gets the key: from the seller directly, or as published on the exchange. */
  private async fetchKey(actor: BuyActor, { context }: BuyPhaseOf<'receipted'>): Promise<void> {
    const { deps } = this;
    const { txId, encryptedFileKey } = context;
    const receipt = deps.link.client.signReceipt(encryptedFileKey);
    const stop = new AbortController();
    const fromSeller = this.withSeller(actor, context, (peer) => peer.request('peer.receipt', { txId, signature: receipt }), stop.signal).then((answer) => answer.resultKey);
    const fromExchange = deps.link.waitUntil(
      async () => {
        const tx = await this.transaction(txId, 'no key was published');
        // Sealed to this buyer: nobody else who asks the exchange can open it.
        return typeof tx['encResultKey'] === 'string' ? openSealedKey(tx['encResultKey'], deps.identity.privateKey) : undefined;
      },
      24 * 3600_000,
      `the key of ${txId}`,
      stop.signal,
    );
    try {
      const resultKey = await firstSuccess([fromSeller, fromExchange]);
      await actor.send({ type: 'KEY', nowMs: this.now(), resultKey });
    } finally {
      stop.abort('done');
    }
  }

  /** Decrypts, checks and accepts the result; a result that fails is rejected on the exchange. */
  private async verify(actor: BuyActor, { context }: BuyPhaseOf<'verifying'>): Promise<void> {
    const { deps } = this;
    const manifest = await deps.cafs.loadFile(context.encryptedFileKey);
    if (manifest === undefined) throw new Error('the encrypted result is missing from CAFS');
    let result: Uint8Array;
    try {
      result = decryptResult(await readFileBytes(deps.cafs, manifest), context.resultKey);
      await this.check(context, result);
    } catch (error) {
      const reason = describe(error).slice(0, 200);
      await deps.link.client.txMessage(context.txId, 'rejectresult', { reason }).catch(() => undefined);
      throw error;
    }
    const stored = await importFile(deps.cafs, [result]);
    try {
      await deps.link.client.txMessage(context.txId, 'acceptresult');
    } catch (error) {
      if (!(error instanceof ProtocolError) || error.errorName !== 'tx_not_found') throw error; // retired meanwhile: paid at the deadline
    }
    await actor.send({ type: 'VERIFIED', nowMs: this.now(), resultFileKey: stored.fileKey });
  }

  /** Runs the article's result check, if it has one (reading the work only then). */
  private async check(context: BuyContext, result: Uint8Array): Promise<void> {
    const verifier = this.deps.verifiers[context.article];
    if (verifier === undefined) return;
    if (!verifier(await this.readWork(context), result)) throw new ResultDecryptionError(`the result is wrong: it fails the check for ${context.article}`);
  }

  private async readWork(context: BuyContext): Promise<Uint8Array> {
    const manifest = await this.deps.cafs.loadFile(context.workFileKey);
    if (manifest === undefined) throw new Error(`the work ${context.workFileKey} is missing from CAFS`);
    return readFileBytes(this.deps.cafs, manifest);
  }

  /**
   * Runs `exchange` over an authenticated session with the transaction's seller, reconnecting after
   * a dropped connection while the transaction is still active. Protocol refusals end it.
   */
  private async withSeller<T>(actor: BuyActor, seller: SellerOfTx, exchange: (peer: RpcPeer<PeerProtocol>) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const { deps } = this;
    for (;;) {
      if (deps.stopping.aborted) throw new StoppedError('the daemon is stopping');
      if (signal?.aborted) throw new StoppedError('no longer needed');
      try {
        return await exchange(await this.session(actor, seller));
      } catch (error) {
        const dropped = error instanceof ProtocolError ? isUncertain(error) : true;
        if (!dropped) throw error;
        this.closeSession(actor.tradeId);
        await this.transaction(seller.txId, `the seller went away (${describe(error)})`);
        await pause(deps, RECONNECT_PAUSE_MS);
      }
    }
  }

  /** The open, authenticated connection to this trade's seller, or a new one. */
  private async session(actor: BuyActor, { txId, workerUrl }: SellerOfTx): Promise<RpcPeer<PeerProtocol>> {
    const { deps } = this;
    const open = this.sessions.get(actor.tradeId);
    // A session belongs to one transaction: never talk to an earlier attempt's seller.
    if (open !== undefined && open.txId === txId && open.peer.isOpen) return open.peer;
    this.closeSession(actor.tradeId);
    const tx = await this.transaction(txId, 'the transaction ended');
    this.noteTxDeadline(actor, tx);
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
    this.sessions.set(actor.tradeId, { txId, peer });
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
