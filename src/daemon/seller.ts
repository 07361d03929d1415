// The seller side: keeps registered workers busy. While a worker is idle and a sell mandate for its
// article allows, a sell trade places a sell bid; on a match the daemon announces its peer URL,
// receives the work from the buyer (peer protocol), checks the buyer secret, runs the worker,
// encrypts the result, hands it over, and publishes the key with the buyer's receipt.
import { cafsReceiver, sendFile, type CafsProtocol } from '../cafs/sync.js';
import { importFile, readFileBytes } from '../cafs/files.js';
import { NonceRegistry, nonceTimeMs } from '../crypto/nonce.js';
import { recoverMessageSigner, signMessage, verifyMessage } from '../crypto/signmessage.js';
import { sellPhase, type SellPhaseOf } from '../machines/trade-phases.js';
import { workSecretHashOf } from '../machines/transaction.js';
import { sellTradeMachine, type SellContext, type SellEvent, type SellState, type SellValue } from '../machines/trade.js';
import { ProtocolError } from '../transport/errors.js';
import type { Handlers, RpcPeer } from '../transport/rpc.js';
import { TxRetiredError } from './exchange-link.js';
import { encryptResult, sealKeyForBuyer } from './fair-exchange.js';
import { helloText, resultTransferId, welcomeText, workTransferId, type PeerProtocol } from '../protocol/peer.js';
import { TradeActor } from './trade-actor.js';
import { describe, Drivers, forgetOldTrades, isUncertain, randomHex, type TradeDeps } from './trading.js';

export type SellActor = TradeActor<SellValue, SellContext, SellEvent>;

/** How far a peer.hello's nonce time may be from ours. */
const HELLO_CLOCK_SKEW_MS = 5 * 60_000;
/** Extra time a bid's outcome is awaited beyond its lifetime. */
const BID_GRACE_MS = 60_000;

export class Seller {
  readonly actors = new Map<string, SellActor>();
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
    /** The URL buyers reach this daemon's peer endpoint at (direct or through the relay). */
    private readonly peerUrl: () => Promise<string>,
  ) {
    this.receiver = cafsReceiver(deps.cafs);
    this.helloNonces = new NonceRegistry(deps.clock, HELLO_CLOCK_SKEW_MS);
    deps.workers.onChange(() => {
      this.withdrawForGoneWorkers();
      this.offer();
    });
    deps.mandates.onChange(() => this.offer());
  }

  /** Takes up saved trades after a restart (oldest first): ended ones as history, the rest resume. */
  async resume(states: readonly SellState[]): Promise<void> {
    for (const state of states) {
      this.counter = Math.max(this.counter, Number(state.context.tradeId.split('-')[1]) || 0);
      const actor = new TradeActor('sell', state.context.tradeId, state, sellTradeMachine.compiled, this.save);
      if (actor.isFinal) this.actors.set(actor.tradeId, actor);
      else this.track(actor);
    }
    this.resumed = true;
    await forgetOldTrades(this.actors, this.deps.store);
  }

  /** Places a sell bid for every idle worker a sell mandate covers. */
  offer(): void {
    if (!this.resumed || this.closing || this.deps.stopping.aborted || this.deps.link.client === undefined) return;
    for (const worker of this.deps.workers.available()) {
      if (this.byWorker.has(worker.id) || this.lent.has(worker.id)) continue;
      const mandate = this.deps.mandates.find('sell', worker.article);
      if (mandate === undefined) continue;
      const tradeId = `s-${++this.counter}`;
      const input = { tradeId, article: worker.article, workerId: worker.id, priceSats: mandate.priceSats, mandateId: mandate.mandateId, nowMs: this.deps.clock.now() };
      this.track(new TradeActor('sell', tradeId, sellTradeMachine.compiled.initial(input), sellTradeMachine.compiled, this.save));
    }
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
    await sell.send({ type: 'BID_ENDED', nowMs: this.deps.clock.now(), reason });
    if (this.byWorker.get(context.workerId) === sell) this.byWorker.delete(context.workerId);
    return true;
  }

  private readonly save = (side: 'buy' | 'sell', tradeId: string, state: SellState): Promise<void> => this.deps.store.saveTrade(side, tradeId, state);

  private readonly drivers = new Drivers();

  /** Resolves when every driver has returned (after the daemon's stop signal). */
  idle(): Promise<void> {
    return this.drivers.idle();
  }

  private track(actor: SellActor): void {
    this.actors.set(actor.tradeId, actor);
    this.byWorker.set(actor.state.context.workerId, actor);
    if (actor.state.context.txId !== null) this.byTx.set(actor.state.context.txId, actor);
    this.drivers.start(() => this.drive(actor));
  }

  private async drive(actor: SellActor): Promise<void> {
    const { deps } = this;
    // A failure of this side (the worker, the exchange link) backs the worker off; one that is the
    // buyer's (no work, no receipt, a wrong secret) does not blame the worker.
    let ownFault = false;
    try {
      while (!actor.isFinal && !deps.stopping.aborted) await this.advance(actor);
    } catch (error) {
      if (!deps.stopping.aborted) {
        ownFault = true;
        deps.log(`sell ${actor.tradeId}: ${describe(error)}`);
        await actor.send({ type: 'FAIL', nowMs: deps.clock.now(), reason: describe(error) });
      }
    }
    if (deps.stopping.aborted) return;
    const { value, context } = actor.state;
    deps.log(`sell ${actor.tradeId} ${value}${context.error === null ? '' : `: ${context.error}`}`);
    if (value === 'failed' && ownFault) deps.workers.block(context.workerId, context.error ?? 'sell failed');
    if (this.byWorker.get(context.workerId) === actor) this.byWorker.delete(context.workerId);
    if (context.txId !== null) this.byTx.delete(context.txId);
    this.offer();
    await forgetOldTrades(this.actors, deps.store);
  }

  /** Does what the trade's state asks for, then steps it. */
  private async advance(actor: SellActor): Promise<void> {
    const { deps } = this;
    const phase = sellPhase(actor.state);
    const nowMs = (): number => deps.clock.now();
    switch (phase.value) {
      case 'bidding': {
        const { context } = phase;
        const placed = await deps.link.client.placeBid(context.article, 'sell', context.priceSats);
        await actor.send({ type: 'BID_PLACED', nowMs: nowMs(), bidId: placed.bidId });
        return;
      }
      case 'bidPlaced': {
        const { context } = phase;
        const lifetimeMs = deps.link.info.articles.find((article) => article.articleId === context.article)?.bidLifetimeMs ?? 120_000;
        const outcome = await deps.link.waitUntil(
          async () => {
            if (actor.state.value !== 'bidPlaced') return { kind: 'ended' as const };
            const found = await deps.link.bidOutcome(context.bidId);
            return found.kind === 'open' ? undefined : found;
          },
          lifetimeMs + BID_GRACE_MS,
          `the outcome of bid ${context.bidId}`,
          deps.stopping,
        );
        if (actor.state.value !== 'bidPlaced') return; // withdrawn for a local buy meanwhile
        if (outcome.kind === 'matched') {
          this.byTx.set(outcome.txId, actor);
          await actor.send({ type: 'MATCHED', nowMs: nowMs(), txId: outcome.txId, buyer: outcome.counterparty, deal: outcome.deal });
          await deps.mandates.use(context.mandateId);
        } else {
          await actor.send({ type: 'BID_ENDED', nowMs: nowMs(), reason: 'the bid ended unmatched' });
        }
        return;
      }
      case 'matched': {
        const { txId } = phase.context;
        const tx = await deps.link.transaction(txId);
        if (tx['workerUrl'] === null) await deps.link.client.txMessage(txId, 'workerurl', { workerurl: await this.peerUrl() });
        await this.waitWhile(actor, txId, 'matched', 'the buyer never sent the work');
        return;
      }
      case 'working':
        return this.work(actor, phase);
      case 'delivering':
        await this.waitWhile(actor, phase.context.txId, 'delivering', 'no receipt from the buyer');
        return;
      case 'receipted':
        return this.publish(actor, phase);
      case 'done':
      case 'ended':
      case 'failed':
        return;
    }
  }

  /** Waits for the peer handlers to move the trade on; fails it when the transaction ends first. */
  private async waitWhile(actor: SellActor, txId: string, value: SellValue, failure: string): Promise<void> {
    const { deps } = this;
    const stop = new AbortController();
    const onStop = (): void => stop.abort('stopping');
    deps.stopping.addEventListener('abort', onStop);
    try {
      const ended = deps.link
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
          24 * 3600_000,
          `transaction ${txId}`,
          stop.signal,
        )
        .catch(() => undefined);
      const moved = actor.until((state) => state.value !== value, stop.signal).catch(() => undefined);
      const first = await Promise.race([moved.then(() => 'moved' as const), ended.then((error) => error)]);
      if (first !== 'moved' && first !== undefined && actor.state.value === value) {
        await actor.send({ type: 'FAIL', nowMs: deps.clock.now(), reason: `${failure} (${first.message})` });
      }
    } finally {
      stop.abort('done');
      deps.stopping.removeEventListener('abort', onStop);
    }
  }

  private async work(actor: SellActor, { context }: SellPhaseOf<'working'>): Promise<void> {
    const { deps } = this;
    const manifest = await deps.cafs.loadFile(context.workFileKey);
    if (manifest === undefined) throw new Error(`the work ${context.workFileKey} is missing from CAFS`);
    const work = await readFileBytes(deps.cafs, manifest);
    let result: Uint8Array;
    try {
      result = await deps.workers.run(context.workerId, work, context.txId, deps.stopping);
    } catch (error) {
      if (deps.stopping.aborted) throw error;
      const reason = describe(error).slice(0, 200);
      await deps.link.client.txMessage(context.txId, 'rejectwork', { reason }).catch(() => undefined);
      throw error;
    }
    const resultKey = randomHex(deps, 32);
    const encrypted = await importFile(deps.cafs, [encryptResult(result, resultKey)]);
    await actor.send({ type: 'RESULT_READY', nowMs: deps.clock.now(), encryptedFileKey: encrypted.fileKey, resultKey });
  }

  private async publish(actor: SellActor, { context }: SellPhaseOf<'receipted'>): Promise<void> {
    const { deps } = this;
    try {
      const tx = await deps.link.transaction(context.txId);
      if (tx.phase === 'WORKING') {
        await deps.link.client.txMessage(context.txId, 'encresult', {
          encresulthash: context.encryptedFileKey,
          encresulthashsig: context.receipt,
          encresultkey: sealKeyForBuyer(context.resultKey, buyerKey(context.encryptedFileKey, context.receipt)),
        });
      }
    } catch (error) {
      if (!(error instanceof TxRetiredError) || !['UNVERIFIED', 'FINISHED', 'RESULT_DISPUTED'].includes(error.retired?.phase ?? '')) throw error;
    }
    await actor.send({ type: 'PUBLISHED', nowMs: deps.clock.now() });
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
      'peer.receipt': async ({ signature }) => {
        const { actor } = authenticated();
        const phase = sellPhase(actor.state);
        if (phase.value !== 'delivering' && phase.value !== 'receipted' && phase.value !== 'done') throw ProtocolError.of('peer_out_of_order', phase.value);
        if (!verifyMessage(phase.context.encryptedFileKey, phase.context.buyer, signature)) throw ProtocolError.of('receipt_invalid');
        if (phase.value === 'delivering') await actor.send({ type: 'RECEIPT', nowMs: deps.clock.now(), receipt: signature });
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
      await actor.send({ type: 'FAIL', nowMs: deps.clock.now(), reason: 'the buyer sent a wrong buyer secret; the work was rejected' });
      throw ProtocolError.of('buyer_secret_wrong');
    }
    try {
      await deps.link.client.txMessage(context.txId, 'buyersecret', { buyersecret: buyerSecret });
    } catch (error) {
      if (!isUncertain(error)) throw error;
      const after = await deps.link.transaction(context.txId);
      if (after['buyerSecret'] !== buyerSecret) throw error;
    }
    await actor.send({ type: 'WORK_RECEIVED', nowMs: deps.clock.now(), workFileKey: workHash, buyerSecret });
  }
}

/** The buyer's public key, recovered from its receipt (checked against its address when it arrived). */
function buyerKey(encryptedFileKey: string, receipt: string): Uint8Array {
  const key = recoverMessageSigner(encryptedFileKey, receipt);
  if (key === undefined) throw new Error('the receipt does not yield the buyer\'s key');
  return key;
}
