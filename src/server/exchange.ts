// The exchange: the market core behind signed commands, journalled before they are acknowledged.
//
// A signed command goes: schema (transport) -> address and network -> signature shape ->
// signature (verified in batches, on worker threads when a pool is given) -> nonce -> per-identity
// rate -> rights -> core. The core decides at once, so later commands see its new state; an
// accepted command is appended to the journal, and only when that append is durable does the
// sender get its answer and do subscribers get the events. Queries answer the same way: what they
// read is sent once the journal holds everything it reflects (a read gate at the durable
// sequence), so nobody ever sees state that a crash could take back.
//
// Fail-stop: an expected rejection is a ProtocolError answered to its sender; anything else on the
// command path (a journal or snapshot write that failed, an assertion in the core) means memory
// may be ahead of the disk, so the exchange stops serving at once (connections closed with 1011,
// `failed` settles) and its host exits; a restart recovers exactly the durable state.
// Deadlines fire on a tick that is journalled as an `advanceTime` command when it changes state.
import { Packr } from 'msgpackr';
import { assert } from '../assert.js';
import { VirtualClock, type Clock, type TimerId } from '../clock.js';
import { parseAddress } from '../crypto/address.js';
import type { NetworkName } from '../crypto/networks.js';
import { NonceRegistry, type NonceRegistryState } from '../crypto/nonce.js';
import { SIGNATURE_BYTES } from '../crypto/limits.js';
import { BUSY_RETRY_AFTER_MS, COMMANDS_IN_FLIGHT_MAX, IDENTITY_BUCKETS_MAX } from '../limits.js';
import { createVerifier, type MessageVerifier } from '../crypto/verifier.js';
import type { VerifierPool } from '../crypto/verify-pool.js';
import { MarketCore } from '../market/core.js';
import type { DepositKey } from '../chain/deposit-keys.js';
import type { DepositWatcher } from '../chain/deposit-watcher.js';
import type { PayoutProcessor } from '../chain/payout-processor.js';
import type { ArticleSpec } from '../market/articles.js';
import type { CommandResult, CoreEvent, MarketCommand } from '../market/commands.js';
import { REJECTIONS } from '../market/rejections.js';
import type { MarketState } from '../market/state.js';
import type { Journal } from '../store/journal.js';
import { recover } from '../store/recovery.js';
import { writeSnapshot } from '../store/snapshots.js';
import type { Store } from '../store/store.js';
import { CLOSE_CODES, type Connection } from '../transport/connection.js';
import { ProtocolError } from '../transport/errors.js';
import { TokenBucket } from '../transport/rate-limit.js';
import { RpcPeer, type RpcPeerOptions } from '../transport/rpc.js';
import { Topics } from '../transport/topics.js';
import { exchangeProtocol, type ExchangeProtocol } from '../protocol/exchange.js';
import { routeEvents, EventIndex } from './event-routing.js';
import { commandHandlers } from './handlers.js';
import { PriceHistory } from './candles.js';
import { wireEvent } from './wire.js';

export interface ExchangeOptions {
  readonly clock: Clock;
  readonly store: Store;
  readonly journal: Journal;
  readonly exchangeId: string;
  readonly network: NetworkName;
  /** The address whose signature admin commands need. */
  readonly adminAddress: string;
  /** The address whose signature arbiter commands need (resolveDispute, freezeAccount, unfreezeAccount); default the admin's. */
  readonly arbiterAddress?: string;
  /** The address whose signature submits the payer's signed payout batches; default the admin's. */
  readonly payerAddress?: string;
  /** Articles defined (journalled) when the exchange starts on an empty store. */
  readonly initialArticles?: readonly ArticleSpec[];
  /** Verifies signatures off the main thread (a VerifierPool); answers may come in any order. */
  readonly verifierPool?: Pick<VerifierPool, 'verify'>;
  /**
   * Checks signatures and receipts when no pool is given (default: the fastest real backend).
   * The simulator injects a cheap stand-in here; production never does.
   */
  readonly verifier?: MessageVerifier;
  readonly version?: string;
  /** Signed commands per identity per second (and burst). */
  readonly identityRate?: { perSecond: number; burst: number };
  readonly tickMs?: number;
  readonly snapshotEveryRecords?: number;
  /** Told of every command outcome (for metrics and logs). */
  readonly observe?: (outcome: { type: string; rejection?: string; code?: number; verifySeconds?: number }) => void;
  /** Told of the core's events of each accepted command once it is durable, in order, exactly once (not on replay): the simulator's auditor. */
  readonly onEvents?: (events: readonly CoreEvent[]) => void;
  /** The operator's deposit key (public only): deposit addresses are derived from it. */
  readonly depositKey?: DepositKey;
  /** Accounts the market keeps (default ACCOUNTS_MAX; smaller only to test the limit). */
  readonly accountsMax?: number;
  /** Resting bids in all books (default OPEN_BIDS_MAX; smaller only to test the limit). */
  readonly openBidsMax?: number;
  /** Deposit addresses reserved in all (default DEPOSIT_ADDRESSES_MAX; smaller only to test the limit). */
  readonly depositAddressesMax?: number;
  /** Signed commands between arrival and answer before new ones get `server_busy` (default COMMANDS_IN_FLIGHT_MAX). */
  readonly commandsInFlightMax?: number;
}

/** The fields every signed command carries (schema-checked; the signature's length is checked here). */
interface SignedBody {
  readonly address: string;
  readonly nonce: string;
  readonly signature: Uint8Array;
}

/** Which key a command needs beyond its own signature. */
interface Rights {
  readonly admin?: boolean;
  readonly arbiter?: boolean;
  readonly payer?: boolean;
}

/** What a request in flight gets once the exchange has failed: never a claim of "no effect". */
export class ExchangeStoppedError extends Error {
  override name = 'ExchangeStoppedError';
}

/** The request types that are signed commands (the ones the in-flight limit counts). */
const SIGNED_COMMANDS: ReadonlySet<string> = new Set(['placeBid', 'withdrawBid', 'txMessage', 'credit', 'defineArticle', 'resolveDispute', 'submitEvidence', 'requestDepositAddress', 'requestWithdrawal', 'approveWithdrawal', 'setWithdrawalPolicy', 'submitPayout', 'failPayoutBatch', 'failWithdrawal', 'refundWithdrawal', 'freezeAccount', 'unfreezeAccount']);

function stoppedError(): ExchangeStoppedError {
  return new ExchangeStoppedError('the exchange stopped after an internal failure; the outcome is unknown');
}

/** A journal record: a core command, with the nonce it consumed (if signed). */
interface JournalEntry {
  readonly command: MarketCommand;
  readonly nonce?: readonly [address: string, nonce: string];
}

interface SnapshotState {
  readonly market: MarketState;
  readonly nonces: NonceRegistryState;
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, encodeUndefinedAsNil: true });

/** Valid addresses remembered at most: past this the set starts again (memory stays bounded). */
const VALID_ADDRESSES_MAX = 100_000;

export class Exchange {
  readonly topics = new Topics<ExchangeProtocol>();
  /** One-minute candles per article, fed by trades (live and during replay). */
  readonly priceHistory = new PriceHistory();
  readonly peers = new Set<RpcPeer<ExchangeProtocol>>();
  core: MarketCore;
  /** Set by the host when it watches the chain: deposit addresses are handed out only then. */
  depositWatcher: Pick<DepositWatcher, 'depositsOf'> | undefined;
  /** The payout processor, when the exchange pays withdrawals on chain. */
  payoutProcessor: Pick<PayoutProcessor, 'toSign' | 'checkSigned' | 'status'> | undefined;
  private nonces: NonceRegistry;
  private readonly nonceClock = new VirtualClock(0);
  private readonly index = new EventIndex();
  private readonly identityBuckets = new Map<string, TokenBucket>();
  /** Addresses that passed `checkAddress` (for this exchange's network). */
  private readonly validAddresses = new Set<string>();
  private readonly verifier: MessageVerifier;
  private tickTimer: TimerId | undefined;
  private snapshotting = false;
  private closed = false;

  private constructor(readonly options: ExchangeOptions) {
    this.verifier = options.verifier ?? createVerifier();
    this.core = this.newCore();
    this.nonces = new NonceRegistry(this.nonceClock);
    this.commandsInFlightMax = options.commandsInFlightMax ?? COMMANDS_IN_FLIGHT_MAX;
    this.failed = new Promise((resolve) => (this.reportFailure = resolve));
  }

  private readonly commandsInFlightMax: number;

  /** Opens the exchange on its store: latest snapshot + journal replay, then starts ticking. */
  static async open(options: ExchangeOptions): Promise<Exchange> {
    const exchange = new Exchange(options);
    await exchange.recover();
    if (exchange.options.journal.lastSequence === 0) await exchange.defineInitialArticles();
    exchange.scheduleTick();
    return exchange;
  }

  get exchangeId(): string {
    return this.options.exchangeId;
  }

  /** The time at which the next command happens: the clock, never behind the core. */
  commandTime(): number {
    return Math.max(this.options.clock.now(), this.core.now());
  }

  /** Serves the exchange protocol on one connection. */
  accept(connection: Connection, peerOptions: Omit<RpcPeerOptions, 'clock'> = {}): RpcPeer<ExchangeProtocol> {
    const admit = (type: string): ProtocolError | undefined => (SIGNED_COMMANDS.has(type) ? this.capacityRefusal() : undefined);
    const peer: RpcPeer<ExchangeProtocol> = new RpcPeer(connection, exchangeProtocol, commandHandlers(this), { ...peerOptions, admit, clock: this.options.clock });
    this.peers.add(peer);
    void peer.closed.then(() => this.peers.delete(peer));
    return peer;
  }

  // --- the command pipeline, used by handlers.ts -------------------------------------------

  /** Checks address and network; throws the protocol error. */
  checkAddress(address: string): void {
    if (this.validAddresses.has(address)) return;
    const parsed = parseAddress(address, this.options.network);
    if (!parsed.ok) throw ProtocolError.of(parsed.error, parsed.detail);
    // A pure check of the text: remember addresses that passed (a bounded set, emptied when full).
    if (this.validAddresses.size >= VALID_ADDRESSES_MAX) this.validAddresses.clear();
    this.validAddresses.add(address);
  }

  /**
   * Runs a signed command: the address and the signature are checked as soon as it arrives
   * (signatures of concurrent commands are verified together, on the pool), but commands reach
   * the core strictly in arrival order, so a client's pipelined commands apply in the order sent.
   * Past COMMANDS_IN_FLIGHT_MAX commands between arrival and answer, a new one is refused at once
   * with `server_busy` instead of queueing without bound.
   */
  submitSigned(
    body: SignedBody,
    text: string,
    build: (nowMs: number) => MarketCommand,
    options: Rights = {},
  ): Promise<readonly CoreEvent[]> {
    if (this.failure !== undefined) return Promise.reject(stoppedError());
    const busy = this.capacityRefusal();
    if (busy !== undefined) return Promise.reject(busy);
    this.inFlight += 1;
    // Never rejects: a failed check is a value, so no rejected promise waits unobserved for its
    // turn while earlier commands are still on their way to the core.
    const checked = this.checkSignature(body, text);
    // The turn resolves when this command has reached the core (not when it is durable: group
    // commit needs many in flight), so the next turn waits for exactly that.
    const turn = this.arrivalOrder.then(async () => {
      const failure = await checked;
      if (failure !== undefined) throw failure;
      return { outcome: this.execute(body, build, options) };
    });
    this.arrivalOrder = turn.then(() => undefined, () => undefined);
    const outcome = turn.then(({ outcome }) => outcome);
    void outcome.then(this.landed, this.landed);
    return outcome;
  }

  /** server_busy when COMMANDS_IN_FLIGHT_MAX commands are between arrival and answer. */
  private capacityRefusal(): ProtocolError | undefined {
    if (this.inFlight < this.commandsInFlightMax) return undefined;
    return ProtocolError.of('server_busy', `${this.inFlight} commands in flight`, BUSY_RETRY_AFTER_MS);
  }

  private readonly landed = (): void => {
    this.inFlight -= 1;
  };

  private arrivalOrder: Promise<void> = Promise.resolve();
  private inFlight = 0;

  /** The address, the signature's shape, then the signature: the first failure, or undefined. */
  private async checkSignature(body: SignedBody, text: string): Promise<Error | undefined> {
    try {
      this.checkAddress(body.address);
      if (body.signature.byteLength !== SIGNATURE_BYTES) {
        return ProtocolError.of('signature_malformed', `${body.signature.byteLength} bytes, expected ${SIGNATURE_BYTES}`);
      }
      await this.verifySignature(text, body.address, body.signature);
      return undefined;
    } catch (error) {
      if (error instanceof ProtocolError) return error;
      this.fail(error);
      return stoppedError();
    }
  }

  /** Verifies a signature over `text` by `address` (batched on the pool when there is one). */
  async verifySignature(text: string, address: string, signature: Uint8Array): Promise<void> {
    const base64 = Buffer.from(signature).toString('base64');
    const startNs = process.hrtime.bigint();
    const pool = this.options.verifierPool;
    let valid: boolean;
    try {
      valid = pool === undefined ? this.verifier.verify(text, address, base64) : await pool.verify({ message: text, address, signature: base64 });
    } catch (error) {
      if (pool === undefined) throw error;
      // The pool refuses work past its queue (back-pressure) and after it was closed (shutdown).
      throw ProtocolError.of('server_busy', (error as Error).message, BUSY_RETRY_AFTER_MS);
    }
    this.options.observe?.({ type: 'verify', verifySeconds: Number(process.hrtime.bigint() - startNs) / 1e9 });
    if (!valid) throw ProtocolError.of('signature_invalid', `for ${address}`);
  }

  /**
   * Runs an authenticated command: nonce, identity rate, rights, then the core. Resolves once the
   * command is durable with the core's events; throws a ProtocolError for any rejection.
   */
  async execute(
    signer: { address: string; nonce: string } | undefined,
    build: (nowMs: number) => MarketCommand,
    options: Rights = {},
  ): Promise<readonly CoreEvent[]> {
    if (this.failure !== undefined) throw stoppedError();
    if (this.closed) throw ProtocolError.of('internal', 'the exchange is shutting down; the command had no effect');
    const nowMs = this.commandTime();
    if (signer !== undefined) this.checkSigner(signer, nowMs);
    if (options.admin === true) this.requireAdmin(signer?.address);
    if (options.arbiter === true && signer?.address !== (this.options.arbiterAddress ?? this.options.adminAddress)) {
      throw ProtocolError.of('not_authorized', 'arbiter commands need the arbiter key');
    }
    if (options.payer === true && signer?.address !== (this.options.payerAddress ?? this.options.adminAddress)) {
      throw ProtocolError.of('not_authorized', "signed payout batches come from the payer's key");
    }
    const command = build(nowMs); // may refuse a field (a ProtocolError) before anything changes
    const ticked = this.tick(nowMs);
    const result = this.runCore(command);
    assert(result.events.length === 0 || result.status === 'accepted', 'deadlines were fired by the tick before the command');
    if (result.status === 'rejected') {
      this.options.observe?.({ type: command.type, rejection: result.rejection, code: result.code });
      await ticked;
      throw new ProtocolError(result.rejection, result.code, REJECTIONS[result.rejection].message);
    }
    if (signer !== undefined) this.nonces.commit(signer.address, signer.nonce);
    this.options.observe?.({ type: command.type });
    await this.record({ command, ...(signer === undefined ? {} : { nonce: [signer.address, signer.nonce] as const }) }, result);
    return result.events;
  }

  /** The parties of an active transaction (for the relay's dial check), or undefined. */
  transactionParties(txId: string): { readonly buyer: string; readonly seller: string } | undefined {
    const tx = this.core.transaction(txId);
    return tx === undefined ? undefined : { buyer: tx.buyer, seller: tx.seller };
  }

  /** Whether the address has an open bid or an active transaction. */
  isActive(address: string): boolean {
    return this.core.isActive(address);
  }

  requireAdmin(address: string | undefined): void {
    if (address !== this.options.adminAddress) throw ProtocolError.of('not_authorized', 'admin commands need the admin key');
  }

  /**
   * The read gate: resolves with `value` (read from memory now) once the journal holds every
   * record memory reflects, so a query never reveals what a crash could take back.
   */
  async durable<T>(value: T): Promise<T> {
    if (this.failure !== undefined) throw stoppedError();
    const journal = this.options.journal;
    if (journal.lastDurableSequence < journal.lastSequence) await journal.whenDurable(journal.lastSequence);
    if (this.failure !== undefined) throw stoppedError();
    return value;
  }

  /** Settles with the error that stopped the exchange (fail-stop); never while it is healthy. */
  readonly failed: Promise<Error>;
  private reportFailure!: (error: Error) => void;
  private failure: Error | undefined;

  get isHealthy(): boolean {
    return this.failure === undefined;
  }

  /**
   * Stops serving after an internal or storage failure: memory may now hold effects the journal
   * does not, so nothing more is answered. Connections close with 1011; the host exits and a
   * restart recovers the durable state.
   */
  fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.closed = true;
    if (this.tickTimer !== undefined) this.options.clock.clearTimer(this.tickTimer);
    for (const peer of this.peers) peer.close(CLOSE_CODES.internalError, 'the exchange stopped after an internal failure; reconnect and resend');
    this.reportFailure(this.failure);
  }

  // --- time, journal, events -----------------------------------------------------------------

  /** Fires deadlines due by `nowMs`; journals the tick when it changed state. */
  tick(nowMs: number = this.commandTime()): Promise<void> {
    const command: MarketCommand = { type: 'advanceTime', nowMs };
    const result = this.runCore(command);
    if (result.events.length === 0) return Promise.resolve();
    return this.record({ command }, result);
  }

  /** The core's step; an assertion in it (a bug) stops the exchange before anything is answered. */
  private runCore(command: MarketCommand): CommandResult {
    try {
      return this.core.execute(command);
    } catch (error) {
      this.fail(error);
      throw stoppedError();
    }
  }

  private checkSigner(signer: { address: string; nonce: string }, nowMs: number): void {
    if (this.nonceClock.now() < nowMs) this.nonceClock.advanceTo(nowMs);
    const verdict = this.nonces.check(signer.address, signer.nonce);
    if (verdict !== 'ok') throw ProtocolError.of(verdict, signer.nonce.slice(0, 64));
    const rate = this.options.identityRate ?? { perSecond: 200, burst: 400 };
    let bucket = this.identityBuckets.get(signer.address);
    if (bucket === undefined) {
      if (this.identityBuckets.size >= IDENTITY_BUCKETS_MAX) this.identityBuckets.clear(); // bounded; a reset only forgives
      this.identityBuckets.set(signer.address, (bucket = new TokenBucket(rate, this.options.clock)));
    }
    if (!bucket.take()) throw ProtocolError.of('rate_limited', `more than ${rate.perSecond} commands per second from ${signer.address}`);
  }

  /** Journals an accepted command; when durable, publishes its events. A failed write stops the exchange. */
  private async record(entry: JournalEntry, result: CommandResult): Promise<void> {
    const routed = routeEvents(this.index, result.events);
    try {
      await this.options.journal.append(packr.pack(entry));
    } catch (error) {
      this.fail(error);
      throw stoppedError();
    }
    this.chart(result.events);
    this.options.onEvents?.(result.events);
    for (const { topic, event } of routed) this.topics.publish(topic, 'event', { topic, event: wireEvent(event) });
  }

  private chart(events: readonly CoreEvent[]): void {
    for (const event of events) if (event.type === 'trade') this.priceHistory.record(event);
  }

  /** Open bids and active transactions (for metrics). */
  get openBidCount(): number {
    return this.index.bidOwner.size;
  }

  get activeTransactionCount(): number {
    return this.index.txParties.size;
  }

  private scheduleTick(): void {
    if (this.closed) return;
    this.tickTimer = this.options.clock.setTimer(() => {
      this.tick()
        .then(() => this.maybeSnapshot())
        .then(() => this.scheduleTick(), (error: unknown) => this.fail(error));
    }, this.options.tickMs ?? 250);
  }

  /** Takes a snapshot once enough records have accumulated since the last one. */
  private async maybeSnapshot(): Promise<void> {
    const journal = this.options.journal;
    const every = this.options.snapshotEveryRecords ?? 100_000;
    if (this.snapshotting || journal.lastSequence - this.lastSnapshotSequence < every) return;
    this.snapshotting = true;
    try {
      await this.writeSnapshot();
    } finally {
      this.snapshotting = false;
    }
  }

  private lastSnapshotSequence = 0;

  /**
   * Writes a snapshot of the whole exchange at the journal's last appended sequence, also while
   * appends are in flight (under load the journal is never idle). The state in memory is exactly
   * that of every appended record, since a command is applied and appended in one synchronous
   * step; it is captured now and written once the journal holds those records durably, so a
   * snapshot never includes what a crash could lose.
   */
  async writeSnapshot(): Promise<number> {
    const journal = this.options.journal;
    const sequence = journal.lastSequence;
    const journalHash = journal.headHash;
    const state: SnapshotState = { market: this.core.exportState(), nonces: this.nonces.export() };
    const packed = packr.pack(state);
    await journal.whenDurable(sequence);
    await writeSnapshot(this.options.store, { sequence, journalHash, state: packed });
    this.lastSnapshotSequence = Math.max(this.lastSnapshotSequence, sequence);
    return sequence;
  }

  private newCore(state?: MarketState): MarketCore {
    const verifyReceipt = (buyer: string, hashHex: string, signature: string): boolean => this.verifier.verify(hashHex, buyer, signature);
    const options = {
      verifyReceipt,
      ...(this.options.accountsMax === undefined ? {} : { accountsMax: this.options.accountsMax }),
      ...(this.options.openBidsMax === undefined ? {} : { openBidsMax: this.options.openBidsMax }),
      ...(this.options.depositAddressesMax === undefined ? {} : { depositAddressesMax: this.options.depositAddressesMax }),
    };
    return state === undefined ? new MarketCore(options) : MarketCore.fromState(state, options);
  }

  private async recover(): Promise<void> {
    const report = await recover(this.options.store, this.options.journal, {
      restore: (state) => {
        if (state === undefined) return;
        const snapshot = packr.unpack(state) as SnapshotState;
        this.core = this.newCore(snapshot.market);
        this.nonceClock.advanceTo(Math.max(this.nonceClock.now(), snapshot.market.nowMs));
        this.nonces = NonceRegistry.import(snapshot.nonces, this.nonceClock);
        this.index.rebuild(snapshot.market);
      },
      apply: (record) => {
        const entry = packr.unpack(record.payload) as JournalEntry;
        if (this.nonceClock.now() < entry.command.nowMs) this.nonceClock.advanceTo(entry.command.nowMs);
        const result = this.core.execute(entry.command);
        assert(result.status === 'accepted', `journal record ${record.sequence} is rejected on replay: ${result.status === 'rejected' ? result.rejection : ''}`);
        routeEvents(this.index, result.events);
        this.chart(result.events);
        if (entry.nonce !== undefined) this.nonces.commit(entry.nonce[0], entry.nonce[1]);
      },
    });
    this.lastSnapshotSequence = report.snapshotSequence;
  }

  private async defineInitialArticles(): Promise<void> {
    for (const article of this.options.initialArticles ?? []) {
      await this.execute(undefined, (nowMs) => ({ type: 'defineArticle', nowMs, article }));
    }
  }

  /** Stops ticking and closes every connection (the caller closes the store afterwards). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.tickTimer !== undefined) this.options.clock.clearTimer(this.tickTimer);
    for (const peer of this.peers) peer.close(1001, 'exchange shutting down');
  }
}
