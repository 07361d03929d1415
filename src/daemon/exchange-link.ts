// The daemon's link to the exchange: one reconnecting WebSocket, the participant's signed client,
// the subscription to everything that concerns this participant, and waits for a bid's outcome or
// a transaction's progress. Pushes wake waiters; each waiter then asks the exchange for the truth
// (a push lost across a reconnect costs a poll interval, never correctness).
import type { Clock, TimerId } from '../clock.js';
import type { Identity } from '../crypto/keys.js';
import type { Prng } from '../random.js';
import type { Deal } from '../machines/trade.js';
import { exchangeProtocol, pushedEvent, type ExchangeProtocol, type PushedEvent } from '../protocol/exchange.js';
import { ReconnectingClient, type ClientState } from '../transport/client.js';
import { ProtocolError } from '../transport/errors.js';
import type { ResponseBody } from '../transport/protocol.js';
import { connectWebSocket } from '../transport/ws-client.js';
import { ExchangeClient } from './exchange-client.js';

export type TxView = ResponseBody<ExchangeProtocol, 'transaction'> & Record<string, unknown>;
export type ExchangeInfo = ResponseBody<ExchangeProtocol, 'info'>;

/** A bid's lifetime when the exchange's article list does not say (it always should). */
const BID_LIFETIME_DEFAULT_MS = 120_000;

/** A wait with no time limit of its own: the trade phase's deadline (or the daemon stopping) ends it. */
export const WAIT_FOREVER_MS = 7 * 24 * 3600_000;

/** How often a waiter re-asks the exchange when no push arrives. */
export const POLL_INTERVAL_MS = 5_000;

/** The outcome of a bid, as far as this participant can tell. */
export type BidOutcome =
  | { readonly kind: 'open' }
  | { readonly kind: 'matched'; readonly txId: string; readonly counterparty: string; readonly deal: Deal }
  | { readonly kind: 'ended' };

export interface RetiredTx {
  readonly txId: string;
  readonly phase: string;
  readonly sellerSats: number;
  readonly refundSats: number;
}

export class TxRetiredError extends Error {
  override name = 'TxRetiredError';
  constructor(readonly retired: RetiredTx | undefined, txId: string) {
    super(retired === undefined ? `transaction ${txId} is no longer active` : `transaction ${txId} ended in ${retired.phase}`);
  }
}

type ParticipantView = ResponseBody<ExchangeProtocol, 'participant'>;

export class ExchangeLink {
  readonly connection: ReconnectingClient<ExchangeProtocol>;
  client!: ExchangeClient;
  info!: ExchangeInfo;
  private readonly wakers = new Set<() => void>();
  private readonly listeners = new Set<(event: PushedEvent) => void>();
  /** Recent retirements, so a waiter that missed the moment still learns how a tx ended. */
  private readonly retired = new Map<string, RetiredTx>();
  /** The participant request on the wire, and the one queued behind it (see participantView). */
  private viewAsked: Promise<ParticipantView> | undefined;
  private viewQueued: Promise<ParticipantView> | undefined;

  constructor(
    private readonly options: {
      url: string;
      identity: Identity;
      clock: Clock;
      prng: Prng;
      random: (count: number) => Uint8Array;
      onState?: (state: ClientState, detail: string) => void;
      log?: (line: string) => void;
    },
  ) {
    this.connection = new ReconnectingClient({
      protocol: exchangeProtocol,
      clock: options.clock,
      prng: options.prng,
      connect: () => connectWebSocket(options.url, { clock: options.clock }),
      ...(options.onState === undefined ? {} : { onStateChange: options.onState }),
      onOpen: () => this.wakeAll(),
    });
    this.connection.onPush('event', ({ event }) => {
      // Checked on arrival: a push this daemon does not know (a newer exchange) or a malformed one
      // is skipped with a log line; a missed push costs a poll interval, never correctness.
      const parsed = pushedEvent.safeParse(event);
      if (parsed.success) this.receive(parsed.data);
      else options.log?.(`exchange: ignored a push of type "${String(event['type']).slice(0, 40)}": ${parsed.error.issues[0]?.message ?? 'malformed'}`);
    });
  }

  get address(): string {
    return this.options.identity.address;
  }

  /** Connects (retrying until `timeoutMs`), learns the exchange's id and subscribes. */
  async start(timeoutMs = 30_000): Promise<void> {
    this.connection.start();
    try {
      this.info = await this.connection.request('info', {}, { timeoutMs });
    } catch (error) {
      if (error instanceof ProtocolError && error.errorName === 'request_timeout') {
        throw new Error(`could not reach the exchange at ${this.options.url} within ${timeoutMs / 1000} s: is it running?`);
      }
      throw error;
    }
    if (this.info.network !== this.options.identity.network) {
      throw new Error(`the exchange runs on ${this.info.network}, this daemon's key is for ${this.options.identity.network}`);
    }
    this.client = new ExchangeClient(this.connection, this.options.identity, this.info.exchangeId, this.options.clock, this.options.random);
    this.connection.subscribe('subscribe', { topic: `participant:${this.address}` });
  }

  close(): void {
    this.connection.close();
    this.wakeAll();
  }

  onEvent(listener: (event: PushedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private receive(event: PushedEvent): void {
    if (event.type === 'txRetired') {
      this.retired.set(event.txId, { txId: event.txId, phase: event.phase, sellerSats: event.sellerSats, refundSats: event.refundSats });
      if (this.retired.size > 10_000) this.retired.delete(this.retired.keys().next().value!);
    }
    for (const listener of this.listeners) listener(event);
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }

  /**
   * Calls `check` now, on every push and connection, and every POLL_INTERVAL_MS, until it returns a
   * value (resolves), throws (rejects), or `timeoutMs` passes (rejects). `signal` aborts.
   */
  waitUntil<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string, signal?: AbortSignal): Promise<T> {
    const clock = this.options.clock;
    return new Promise<T>((resolve, reject) => {
      let running = false;
      let again = false;
      let poll: TimerId | undefined;
      const finish = (error: unknown, value?: T): void => {
        this.wakers.delete(wake);
        clock.clearTimer(deadline);
        if (poll !== undefined) clock.clearTimer(poll);
        signal?.removeEventListener('abort', aborted);
        if (error === undefined) resolve(value as T);
        else reject(error);
      };
      const wake = (): void => {
        if (running) {
          again = true;
          return;
        }
        running = true;
        check().then(
          (value) => {
            running = false;
            if (value !== undefined) return finish(undefined, value);
            if (again) {
              again = false;
              wake();
            }
          },
          (error: unknown) => {
            running = false;
            // A dropped connection is not an answer: try again when it is back.
            if (error instanceof ProtocolError && (error.errorName === 'connection_closed' || error.errorName === 'request_timeout')) return;
            finish(error);
          },
        );
      };
      const schedulePoll = (): void => {
        poll = clock.setTimer(() => {
          wake();
          schedulePoll();
        }, POLL_INTERVAL_MS);
      };
      const deadline = clock.setTimer(() => finish(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const aborted = (): void => finish(new Error(`stopped waiting for ${what}: ${String(signal?.reason ?? 'aborted')}`));
      if (signal?.aborted) return aborted();
      signal?.addEventListener('abort', aborted);
      this.wakers.add(wake);
      schedulePoll();
      wake();
    });
  }

  /** The transaction, or TxRetiredError once it is no longer active. */
  async transaction(txId: string): Promise<TxView> {
    try {
      return (await this.connection.request('transaction', { txId })) as TxView;
    } catch (error) {
      if (error instanceof ProtocolError && error.errorName === 'tx_not_found') throw new TxRetiredError(this.retired.get(txId), txId);
      throw error;
    }
  }

  /** A participant's public counts (how its transactions ended, as seller and as buyer). */
  reputation(address: string): Promise<ResponseBody<ExchangeProtocol, 'reputation'>> {
    return this.connection.request('reputation', { address });
  }

  /**
   * Our bids and transactions as the exchange has them now. Every waiting bid asks after each
   * push, and the view holds all our bids, so asking once per waiter made a push cost O(bids²):
   * callers share one request, and one that arrives while a request is on the wire gets the next
   * one (queued, shared by all who arrive meanwhile), so its answer is never older than its call.
   */
  private participantView(): Promise<ParticipantView> {
    if (this.viewAsked === undefined) return this.askView();
    this.viewQueued ??= this.viewAsked.then(
      () => this.askView(),
      () => this.askView(),
    );
    return this.viewQueued;
  }

  private askView(): Promise<ParticipantView> {
    this.viewQueued = undefined;
    const asked = this.connection.request('participant', { address: this.address });
    this.viewAsked = asked;
    const done = (): void => {
      if (this.viewAsked === asked) this.viewAsked = undefined;
    };
    asked.then(done, done);
    return asked;
  }

  /** Where a bid of ours stands: still open, matched into a transaction, or ended without one. */
  async bidOutcome(bidId: string): Promise<BidOutcome> {
    const view = await this.participantView();
    if (view.bids.some((bid) => bid.bidId === bidId)) return { kind: 'open' };
    for (const tx of view.transactions) {
      const deal = { priceSats: Number(tx['priceSats']), feeSats: Number(tx['feeSats']) };
      if (tx['buyBidId'] === bidId) return { kind: 'matched', txId: tx.txId, counterparty: String(tx['seller']), deal };
      if (tx['sellBidId'] === bidId) return { kind: 'matched', txId: tx.txId, counterparty: String(tx['buyer']), deal };
    }
    return { kind: 'ended' };
  }

  /** How long a bid of `article` rests on the exchange (ms), as it says. */
  bidLifetimeMs(article: string): number {
    return this.info.articles.find((spec) => spec.articleId === article)?.bidLifetimeMs ?? BID_LIFETIME_DEFAULT_MS;
  }

  /**
   * A bid's outcome once it no longer rests: matched, or ended without a match. No time limit of
   * its own: `signal` ends it (the trade's phase deadline, the daemon stopping).
   */
  bidSettled(bidId: string, signal: AbortSignal): Promise<Exclude<BidOutcome, { readonly kind: 'open' }>> {
    return this.waitUntil(
      async () => {
        const found = await this.bidOutcome(bidId);
        return found.kind === 'open' ? undefined : found;
      },
      WAIT_FOREVER_MS,
      `the outcome of bid ${bidId}`,
      signal,
    );
  }

  /** Our open bids on the exchange (to withdraw the ones no trade knows of after a crash). */
  async openBids(): Promise<string[]> {
    const view = await this.participantView();
    return view.bids.map((bid) => bid.bidId);
  }
}
