// The seller side: keeps registered workers busy, carrying out what each sale's trade logic
// decides (src/machines/trade-logic.ts) on the daemon's trade runtime. While a worker is idle and
// a sell mandate for its article allows, a sell trade places a sell bid; on a match the daemon
// announces its peer URL, receives the work from the buyer (peer protocol), checks the buyer
// secret, runs the worker, encrypts the result, hands it over, and publishes the key with the
// buyer's receipt.
import { cafsReceiver, sendFile, type CafsProtocol } from '../cafs/sync.js';
import { fileSource, importFile } from '../cafs/files.js';
import { NonceRegistry, nonceTimeMs } from '../crypto/nonce.js';
import { recoverMessageSigner, signMessage, verifyMessage } from '../crypto/signmessage.js';
import type { SellEffect, SellFact } from '../machines/trade-logic.js';
import { resultHashOf } from '../market/evidence.js';
import { sellPhase } from '../machines/trade-phases.js';
import { workSecretHashOf } from '../machines/transaction.js';
import type { SellInput, SellState } from '../machines/trade.js';
import { ProtocolError } from '../transport/errors.js';
import type { Handlers, RpcPeer } from '../transport/rpc.js';
import { TxRetiredError, WAIT_FOREVER_MS } from './exchange-link.js';
import { encryptResult, sealKeyForBuyer } from './fair-exchange.js';
import { helloText, resultTransferId, welcomeText, workTransferId, type PeerProtocol } from '../protocol/peer.js';
import type { Executor, TradeHandle, TradeRuntime } from './trade-runtime.js';
import { describe, isUncertain, randomHex, TRADE_HISTORY_MAX, withdrawQuietly, type TradeDeps } from './trading.js';

export type SellActor = TradeHandle<'sell'>;

/** How far a peer.hello's nonce time may be from ours. */
const HELLO_CLOCK_SKEW_MS = 5 * 60_000;

export class Seller implements Executor<'sell'> {
  private readonly byTx = new Map<string, SellActor>();
  private readonly byWorker = new Map<string, SellActor>();
  /** Workers lent to a local buy: no sell bids for them meanwhile. */
  private readonly lent = new Set<string>();
  private readonly receiver;
  private counter = 0;
  /** peer.hello nonces seen, for their validity window (only verified hellos of real buyers are kept). */
  private readonly helloNonces: NonceRegistry;
  /** Set when the daemon stops: no new sell bids. */
  private closing = false;
  /** Set once saved trades are taken up: no offer before, or its trade id could repeat a saved one. */
  private resumed = false;

  constructor(
    private readonly deps: TradeDeps,
    private readonly runtime: TradeRuntime,
    /** The URL buyers reach this daemon's peer endpoint at (direct or through the relay). */
    private readonly peerUrl: () => Promise<string>,
  ) {
    runtime.serve('sell', this);
    this.receiver = cafsReceiver(deps.cafs);
    this.helloNonces = new NonceRegistry(deps.clock, HELLO_CLOCK_SKEW_MS);
    deps.workers.onChange(() => {
      this.withdrawForGoneWorkers();
      this.offer();
    });
    deps.mandates.onChange(() => this.offer());
  }

  /** This side's trades by id, in the order they were started. */
  get actors(): ReadonlyMap<string, SellActor> {
    return new Map(this.runtime.trades('sell').map((trade) => [trade.tradeId, trade as SellActor]));
  }

  /** Indexes the saved sales (restored into the runtime) and continues trade ids after theirs. */
  resumeIds(states: readonly SellState[]): void {
    for (const state of states) {
      this.counter = Math.max(this.counter, Number(state.context.tradeId.split('-')[1]) || 0);
      const handle = this.runtime.handle(state.context.tradeId) as SellActor | undefined;
      if (handle === undefined || handle.isFinal) continue;
      this.byWorker.set(state.context.workerId, handle);
      if (state.context.txId !== null) this.byTx.set(state.context.txId, handle);
    }
    this.resumed = true;
  }

  /** Places a sell bid for every idle worker a sell mandate covers. */
  offer(): void {
    if (!this.resumed || this.closing || this.deps.stopping.aborted || this.deps.link.client === undefined) return;
    for (const worker of this.deps.workers.available()) {
      if (this.byWorker.has(worker.id) || this.lent.has(worker.id)) continue;
      const mandate = this.deps.mandates.find('sell', worker.article);
      if (mandate === undefined) continue;
      const input: SellInput = { tradeId: `s-${++this.counter}`, article: worker.article, workerId: worker.id, priceSats: mandate.priceSats, mandateId: mandate.mandateId, nowMs: this.now() };
      this.byWorker.set(worker.id, this.runtime.spawn('sell', input));
    }
  }

  private now(): number {
    return this.deps.clock.now();
  }

  private send(tradeId: string, fact: SellFact): boolean {
    return this.runtime.send(tradeId, fact);
  }

  /**
   * A worker that was unregistered cannot serve a buyer: the bid of a sale still waiting for one
   * is withdrawn (a sale already matched runs on, and fails if the worker is needed and gone).
   */
  private withdrawForGoneWorkers(): void {
    for (const [workerId, sell] of this.byWorker) {
      if (this.deps.workers.get(workerId) !== undefined) continue;
      if (sell.state.value !== 'bidding' && sell.state.value !== 'bidPlaced') continue;
      this.withdraw(sell, `withdrawn: worker ${workerId} was removed`).catch((error: unknown) => this.deps.log(`sell ${sell.tradeId}: ${describe(error)}`));
    }
  }

  /**
   * Lends an idle worker of `article` to a buy of this same daemon (local first): no market, no
   * money. A worker waiting with a sell bid is taken only if its bid can still be withdrawn.
   */
  async lendWorker(article: string): Promise<string | undefined> {
    for (const worker of this.deps.workers.available(article)) {
      if (this.lent.has(worker.id)) continue;
      this.lent.add(worker.id); // reserved: no new sell bid for it while its old one is withdrawn
      const sell = this.byWorker.get(worker.id);
      if (sell === undefined || (await this.withdraw(sell, 'withdrawn for a local buy'))) return worker.id;
      this.lent.delete(worker.id);
    }
    return undefined;
  }

  returnWorker(workerId: string): void {
    this.lent.delete(workerId);
    this.offer();
  }

  /**
   * The daemon is stopping: no new offers, and the bids of sales still waiting for a buyer are
   * withdrawn, so no buyer matches a seller that is gone (it would wait for the transaction's
   * deadline for nothing). Sales already matched stay saved and resume after the restart.
   */
  async withdrawOpenBids(): Promise<void> {
    this.closing = true;
    const waiting = [...this.actors.values()].filter((sell) => sell.state.value === 'bidPlaced' || sell.state.value === 'bidding');
    await Promise.allSettled(waiting.map((sell) => this.withdraw(sell, 'withdrawn: the daemon stopped')));
  }

  private async withdraw(sell: SellActor, reason: string): Promise<boolean> {
    // A bid on its way is withdrawn as soon as it is placed (one round trip to the exchange).
    const { value, context } = await sell.until((state) => state.value !== 'bidding', this.deps.stopping).catch(() => sell.state);
    if (value !== 'bidPlaced' || context.bidId === null) return false;
    try {
      await this.deps.link.client.withdrawBid(context.bidId);
    } catch {
      return false; // matched meanwhile, or the exchange is unreachable
    }
    this.send(sell.tradeId, { type: 'BID_ENDED', nowMs: this.now(), bidId: context.bidId, reason });
    if (this.byWorker.get(context.workerId) === sell) this.byWorker.delete(context.workerId);
    return true;
  }

  /** What an effect's error means: this side failed (the worker is blocked a while). */
  failure(tradeId: string, effect: SellEffect, error: unknown): SellFact {
    this.deps.log(`sell ${tradeId}: ${describe(error)}`);
    return { type: 'FAIL', nowMs: this.now(), txId: 'txId' in effect ? effect.txId : null, reason: describe(error), blame: 'self' };
  }

  async execute(tradeId: string, effect: SellEffect, phase: AbortSignal): Promise<void> {
    const { deps } = this;
    switch (effect.type) {
      case 'placeBid': {
        const placed = await deps.link.client.placeBid(effect.article, 'sell', effect.priceSats);
        if (!this.send(tradeId, { type: 'BID_PLACED', nowMs: this.now(), bidId: placed.bidId, endsMs: this.now() + deps.link.bidLifetimeMs(effect.article) })) {
          await deps.link.client.withdrawBid(placed.bidId).catch(() => undefined);
        }
        return;
      }
      case 'watchBid':
        return this.awaitMatch(tradeId, effect.bidId, phase);
      case 'withdrawBid':
        return withdrawQuietly(deps, `sell ${tradeId}`, effect.bidId);
      case 'useMandate':
        return deps.mandates.use(effect.mandateId);
      case 'announce': {
        const tx = await deps.link.transaction(effect.txId);
        if (typeof tx['deadlineMs'] === 'number') this.send(tradeId, { type: 'TX_DEADLINE', nowMs: this.now(), txId: effect.txId, deadlineMs: tx['deadlineMs'] });
        if (tx['workerUrl'] === null) await deps.link.client.txMessage(effect.txId, 'workerurl', { workerurl: await this.peerUrl() });
        return this.failWhenTxEnds(tradeId, effect.txId, 'the buyer never sent the work', phase);
      }
      case 'runWorker':
        return this.work(tradeId, effect, phase);
      case 'awaitReceipt':
        return this.failWhenTxEnds(tradeId, effect.txId, 'no receipt from the buyer', phase);
      case 'publish':
        return this.publish(tradeId, effect);
      case 'blockWorker':
        deps.workers.block(effect.workerId, effect.reason);
        return;
      case 'ignored':
        deps.log(`sell ${tradeId}: ignored ${effect.fact}: ${effect.why}`);
        return;
      case 'ended': {
        deps.log(`sell ${tradeId} ${effect.value}${effect.reason === null ? '' : `: ${effect.reason}`}`);
        const sell = this.runtime.handle(tradeId) as SellActor | undefined;
        if (sell !== undefined && this.byWorker.get(effect.workerId) === sell) this.byWorker.delete(effect.workerId);
        const txId = sell?.state.context.txId ?? null;
        if (txId !== null) this.byTx.delete(txId);
        this.offer();
        deps.tradeEnded();
        return this.runtime.forgetOld('sell', TRADE_HISTORY_MAX);
      }
    }
  }

  /** Waits for the bid's outcome (the phase's deadline ends the wait when no word comes). */
  private async awaitMatch(tradeId: string, bidId: string, phase: AbortSignal): Promise<void> {
    const outcome = await this.deps.link.bidSettled(bidId, phase);
    if (outcome.kind === 'matched') {
      const sell = this.runtime.handle(tradeId) as SellActor;
      this.byTx.set(outcome.txId, sell);
      this.send(tradeId, { type: 'MATCHED', nowMs: this.now(), bidId, txId: outcome.txId, buyer: outcome.counterparty, deal: outcome.deal });
    } else {
      this.send(tradeId, { type: 'BID_ENDED', nowMs: this.now(), bidId, reason: 'the bid ended unmatched' });
    }
  }

  /** While the buyer has to move the sale on (peer handlers do that), fails it when the transaction ends first. */
  private async failWhenTxEnds(tradeId: string, txId: string, failure: string, phase: AbortSignal): Promise<void> {
    const { deps } = this;
    const ended = await deps.link
      .waitUntil(
        async () => {
          try {
            await deps.link.transaction(txId);
            return undefined;
          } catch (error) {
            if (error instanceof TxRetiredError) return error;
            throw error;
          }
        },
        WAIT_FOREVER_MS,
        `transaction ${txId}`,
        phase,
      )
      .catch(() => undefined); // the phase ended first: the buyer moved it on
    if (ended !== undefined) this.send(tradeId, { type: 'FAIL', nowMs: this.now(), txId, blame: 'peer', reason: `${failure} (${ended.message})` });
  }

  private async work(tradeId: string, { txId, workerId, workFileKey }: Extract<SellEffect, { type: 'runWorker' }>, phase: AbortSignal): Promise<void> {
    const { deps } = this;
    const manifest = await deps.cafs.loadFile(workFileKey);
    if (manifest === undefined) throw new Error(`the work ${workFileKey} is missing from CAFS`);
    let result: Uint8Array;
    try {
      // The phase ends when the sale does (the buyer cancelled, the transaction ended): the worker stops.
      // The work streams from the store to the worker: it need not fit in memory.
      result = await deps.workers.run(workerId, fileSource(deps.cafs, manifest), txId, AbortSignal.any([deps.stopping, phase]));
    } catch (error) {
      if (deps.stopping.aborted || phase.aborted) throw error;
      const reason = describe(error).slice(0, 200);
      await deps.link.client.txMessage(txId, 'rejectwork', { reason }).catch(() => undefined);
      throw error;
    }
    const resultKey = randomHex(deps, 32);
    const encrypted = await importFile(deps.cafs, [encryptResult(result, resultKey)]);
    // The commitment to the plain result: what a buyer's evidence compares with other sellers' (docs/market-rules.md §6).
    const resultHash = resultHashOf(result);
    this.send(tradeId, { type: 'RESULT_READY', nowMs: this.now(), txId, encryptedFileKey: encrypted.fileKey, resultKey, resultHash });
  }

  private async publish(tradeId: string, { txId, encryptedFileKey, receipt, resultKey, resultHash }: Extract<SellEffect, { type: 'publish' }>): Promise<void> {
    const { deps } = this;
    try {
      const tx = await deps.link.transaction(txId);
      if (tx.phase === 'WORKING') {
        await deps.link.client.txMessage(txId, 'encresult', {
          encresulthash: encryptedFileKey,
          encresulthashsig: receipt,
          encresultkey: sealKeyForBuyer(resultKey, buyerKey(encryptedFileKey, receipt)),
          resulthash: resultHash,
        });
      }
    } catch (error) {
      if (!(error instanceof TxRetiredError) || !['UNVERIFIED', 'FINISHED', 'RESULT_DISPUTED'].includes(error.retired?.phase ?? '')) throw error;
    }
    this.send(tradeId, { type: 'PUBLISHED', nowMs: this.now(), txId });
  }

  /**
   * Handlers for one peer connection (an encrypted link whose Noise handshake hash is `handshake`):
   * a buyer proves who it is on this link, then moves its transaction on.
   */
  peerHandlers(handshake: string): Handlers<PeerProtocol> {
    const { deps } = this;
    /** The transaction this link's buyer proved it is the buyer of (peer.hello). */
    let helloTxId: string | undefined;
    const authenticated = (): { readonly actor: SellActor; readonly txId: string } => {
      if (helloTxId === undefined) throw ProtocolError.of('peer_not_authenticated');
      const actor = this.byTx.get(helloTxId);
      if (actor === undefined) throw ProtocolError.of('peer_trade_unknown', helloTxId);
      return { actor, txId: helloTxId };
    };
    const workTransfer = <B extends { transferId: string }>(body: B): B => {
      const { txId } = authenticated();
      if (body.transferId !== workTransferId(txId)) throw ProtocolError.of('invalid_body', `this connection sends "${workTransferId(txId)}"`);
      return body;
    };
    return {
      'peer.hello': (body) => {
        // Test errors by descending precedence: trade, nonce form and time, signature, party, replay.
        const actor = this.byTx.get(body.txId);
        if (actor === undefined) throw ProtocolError.of('peer_trade_unknown', body.txId);
        const sentMs = nonceTimeMs(body.nonce);
        if (sentMs === undefined) throw ProtocolError.of('nonce_invalid');
        if (Math.abs(sentMs - deps.clock.now()) > HELLO_CLOCK_SKEW_MS) throw ProtocolError.of('nonce_expired');
        const exchangeId = deps.link.info.exchangeId;
        const fields = { exchangeId, txId: body.txId, nonce: body.nonce, handshake };
        const signature = Buffer.from(body.signature).toString('base64');
        if (!verifyMessage(helloText({ ...fields, buyer: body.buyer }), body.buyer, signature)) throw ProtocolError.of('signature_invalid');
        if (body.buyer !== actor.state.context.buyer) throw ProtocolError.of('peer_not_party');
        // A hello signs this link's handshake, so a replay on another link fails above; a second
        // hello with the same nonce is refused all the same, as the protocol promises.
        const verdict = this.helloNonces.check(body.buyer, body.nonce);
        if (verdict !== 'ok') throw ProtocolError.of(verdict);
        this.helloNonces.commit(body.buyer, body.nonce);
        helloTxId = body.txId;
        const welcome = signMessage(welcomeText({ ...fields, seller: deps.identity.address }), deps.identity.privateKey, { compressed: deps.identity.compressed });
        return { seller: deps.identity.address, signature: new Uint8Array(Buffer.from(welcome, 'base64')) };
      },
      'cafs.offer': (body, context) => this.receiver['cafs.offer']!(workTransfer(body), context as never),
      'cafs.chunks': (body, context) => this.receiver['cafs.chunks']!(workTransfer(body), context as never),
      'cafs.done': (body, context) => this.receiver['cafs.done']!(workTransfer(body), context as never),
      'peer.secret': async ({ buyerSecret }) => {
        const { actor, txId } = authenticated();
        await this.takeSecret(actor, buyerSecret);
        return { txId };
      },
      'peer.result': async (_body, { peer }) => {
        const { actor, txId } = authenticated();
        const state = await actor.until((s) => s.value !== 'matched' && s.value !== 'working');
        if (state.context.encryptedFileKey === null) throw ProtocolError.of('work_failed', state.context.error ?? state.value);
        const manifest = await deps.cafs.loadFile(state.context.encryptedFileKey);
        if (manifest === undefined) throw ProtocolError.of('internal', 'the encrypted result is gone');
        await sendFile(peer as unknown as RpcPeer<CafsProtocol>, deps.cafs, manifest, { transferId: resultTransferId(txId) });
        return { encryptedFileKey: manifest.fileKey, size: manifest.size };
      },
      'peer.cancel': async ({ txId, reason }) => {
        const { actor } = authenticated();
        if (txId !== actor.state.context.txId) throw ProtocolError.of('peer_trade_unknown', txId);
        const { value } = actor.state;
        if (value !== 'matched' && value !== 'working') throw ProtocolError.of('peer_out_of_order', `the sale is ${value}: the result is on its way`);
        // Rejecting the work refunds the buyer; leaving the phase stops the worker.
        await deps.link.client.txMessage(txId, 'rejectwork', { reason: `the buyer cancelled: ${reason}`.slice(0, 200) }).catch((error: unknown) => deps.log(`sell ${actor.tradeId}: rejectwork after the buyer's cancel: ${describe(error)}`));
        this.send(actor.tradeId, { type: 'FAIL', nowMs: this.now(), txId, blame: 'peer', reason: `the buyer cancelled the purchase (${reason})` });
        return { txId };
      },
      'peer.receipt': async ({ signature }) => {
        const { actor } = authenticated();
        const phase = sellPhase(actor.state);
        if (phase.value !== 'delivering' && phase.value !== 'receipted' && phase.value !== 'done') throw ProtocolError.of('peer_out_of_order', phase.value);
        if (!verifyMessage(phase.context.encryptedFileKey, phase.context.buyer, signature)) throw ProtocolError.of('receipt_invalid');
        if (phase.value === 'delivering') this.send(actor.tradeId, { type: 'RECEIPT', nowMs: this.now(), txId: phase.context.txId, receipt: signature });
        const final = sellPhase(await actor.until((s) => s.value !== 'delivering' && s.value !== 'receipted'));
        if (final.value !== 'done') throw ProtocolError.of('peer_out_of_order', `the sale ended ${final.value}: ${final.context.error ?? ''}`);
        return { resultKey: final.context.resultKey };
      },
    };
  }

  /** Checks the buyer secret against the transaction and publishes it; a wrong one ends the sale. */
  private async takeSecret(actor: SellActor, buyerSecret: string): Promise<void> {
    const { deps } = this;
    const phase = sellPhase(actor.state);
    if (phase.value !== 'matched') {
      if (phase.context.buyerSecret === buyerSecret) return; // a resent secret after a reconnect
      throw ProtocolError.of('peer_out_of_order', phase.value);
    }
    const { context } = phase;
    const tx = await deps.link.transaction(context.txId);
    const workHash = tx['workHash'];
    if (typeof workHash !== 'string') throw ProtocolError.of('peer_out_of_order', 'the buyer has not published its work hash');
    if ((await deps.cafs.loadFile(workHash)) === undefined) throw ProtocolError.of('work_mismatch', `the work ${workHash} has not arrived`);
    if (workSecretHashOf(workHash, buyerSecret) !== tx['workSecretHash']) {
      await deps.link.client.txMessage(context.txId, 'rejectwork', { reason: 'the buyer secret does not match' }).catch(() => undefined);
      this.send(actor.tradeId, { type: 'FAIL', nowMs: this.now(), txId: context.txId, blame: 'peer', reason: 'the buyer sent a wrong buyer secret; the work was rejected' });
      throw ProtocolError.of('buyer_secret_wrong');
    }
    try {
      await deps.link.client.txMessage(context.txId, 'buyersecret', { buyersecret: buyerSecret });
    } catch (error) {
      if (!isUncertain(error)) throw error;
      const after = await deps.link.transaction(context.txId);
      if (after['buyerSecret'] !== buyerSecret) throw error;
    }
    this.send(actor.tradeId, { type: 'WORK_RECEIVED', nowMs: this.now(), txId: context.txId, workFileKey: workHash, buyerSecret });
  }
}

/** The buyer's public key, recovered from its receipt (checked against its address when it arrived). */
function buyerKey(encryptedFileKey: string, receipt: string): Uint8Array {
  const key = recoverMessageSigner(encryptedFileKey, receipt);
  if (key === undefined) throw new Error('the receipt does not yield the buyer\'s key');
  return key;
}
