// The fast way to run a large market: the agents' commands go straight into the market core (the
// same MarketCore the exchange runs), and the core's events come back to them through the
// exchange's own event routing, each after the agent's network latency. Skipped, against the
// exchange connector (sim/exchange-host.ts): the wire (MessagePack, schemas), signatures and
// nonces, the journal, and so restarts and lost frames, which this connector refuses. Used for
// markets of tens of thousands of agents, where the full stack would take too long.
import type { Clock } from '../src/clock.js';
import type { ArticleSpec } from '../src/market/articles.js';
import type { CoreEvent, MarketCommand } from '../src/market/commands.js';
import type { PushedEvent } from '../src/protocol/exchange.js';
import { wireEvent } from '../src/server/wire.js';
import { MarketCore } from '../src/market/core.js';
import { REJECTIONS } from '../src/market/rejections.js';
import type { TxMessageType } from '../src/market/tx-messages.js';
import type { Prng } from '../src/random.js';
import { EventIndex, routeEvents } from '../src/server/event-routing.js';
import { ProtocolError } from '../src/transport/errors.js';
import { standInVerifier } from './identities.js';
import type { MarketPort } from './market-port.js';

/** The exchange's tick: deadlines fire at most this late when no command arrives. */
const TICK_MS = 250;

export interface CoreMarketOptions {
  readonly clock: Clock;
  readonly prng: Prng;
  readonly articles: readonly ArticleSpec[];
  readonly latencyMs: { readonly min: number; readonly max: number };
  readonly onEvents: (events: readonly CoreEvent[]) => void;
}

export class CoreMarket {
  readonly core: MarketCore;
  private readonly index = new EventIndex();
  private readonly listeners = new Map<string, { readonly latencyMs: number; readonly onEvent: (event: PushedEvent) => void }>();
  private tickTimer: number | undefined;

  constructor(private readonly options: CoreMarketOptions) {
    this.core = new MarketCore(
      { verifyReceipt: (buyer, hashHex, signature) => standInVerifier.verify(hashHex, buyer, signature) },
      { startMs: options.clock.now(), articles: options.articles },
    );
    const tick = (): void => {
      this.execute({ type: 'advanceTime', nowMs: this.now() });
      this.tickTimer = options.clock.setTimer(tick, TICK_MS);
    };
    this.tickTimer = options.clock.setTimer(tick, TICK_MS);
  }

  /** A command's time: the clock, never behind the core (whose time the liveness phase moves on). */
  now(): number {
    return Math.max(this.options.clock.now(), this.core.now());
  }

  stop(): void {
    if (this.tickTimer !== undefined) this.options.clock.clearTimer(this.tickTimer);
  }

  /** Runs a command now; its events go to the auditor at once and to the agents after their latency. */
  execute(command: MarketCommand): readonly CoreEvent[] {
    const result = this.core.execute(command);
    if (result.events.length > 0) {
      this.options.onEvents(result.events);
      for (const { topic, event } of routeEvents(this.index, result.events)) {
        const listener = this.listeners.get(topic.slice('participant:'.length));
        // As the exchange pushes it: the wire's form (lowercase sides).
        if (listener !== undefined) this.options.clock.setTimer(() => listener.onEvent(wireEvent(event)), listener.latencyMs);
      }
    }
    if (result.status === 'rejected') throw new ProtocolError(result.rejection, result.code, REJECTIONS[result.rejection].message);
    return result.events;
  }

  /** An agent's port: one fixed one-way latency each way, so its messages keep their order. */
  connect(address: string, onEvent: (event: PushedEvent) => void): MarketPort {
    const { clock, prng, latencyMs } = this.options;
    const delayMs = latencyMs.min + (latencyMs.max > latencyMs.min ? prng.nextInt(latencyMs.max - latencyMs.min + 1) : 0);
    this.listeners.set(address, { latencyMs: delayMs, onEvent });
    /** Sends `command` (arriving after the latency) and answers after the latency back. */
    const roundTrip = <T>(command: () => MarketCommand, answer: (events: readonly CoreEvent[]) => T): Promise<T> =>
      new Promise((resolve, reject) => {
        clock.setTimer(() => {
          let outcome: { ok: true; value: T } | { ok: false; error: unknown };
          try {
            outcome = { ok: true, value: answer(this.execute(command())) };
          } catch (error) {
            outcome = { ok: false, error };
          }
          clock.setTimer(() => (outcome.ok ? resolve(outcome.value) : reject(outcome.error)), delayMs);
        }, delayMs);
      });
    return {
      placeBid: (article, side, priceSats, avoid = []) =>
        roundTrip(
          () => ({ type: 'placeBid', nowMs: this.now(), participant: address, side: side === 'buy' ? 'BUY' : 'SELL', article, priceSats, ...(avoid.length === 0 ? {} : { avoid }) }),
          (events) => {
            const accepted = events.find((event) => event.type === 'bidAccepted');
            return { bidId: accepted?.type === 'bidAccepted' ? accepted.bidId : '' };
          },
        ),
      withdrawBid: (bidId: string) => roundTrip(() => ({ type: 'withdrawBid', nowMs: this.now(), participant: address, bidId }), () => ({ bidId })),
      txMessage: (txId: string, message: TxMessageType, fields: Record<string, string> = {}) =>
        roundTrip(() => ({ type: 'txMessage', nowMs: this.now(), participant: address, txId, message, fields }), () => ({ txId })),
      submitEvidence: (txId: string, witnesses: readonly string[]) =>
        roundTrip(() => ({ type: 'submitEvidence', nowMs: this.now(), participant: address, txId, witnesses }), () => ({ txId })),
      queryReputation: (subject: string) => roundTrip(() => ({ type: 'advanceTime', nowMs: this.now() }), () => this.core.reputationOf(subject)),
      credit: (participant, amountSats) => roundTrip(() => ({ type: 'credit', nowMs: this.now(), participant, amountSats }), () => ({ participant })),
      queryTransaction: (txId) =>
        roundTrip(
          () => ({ type: 'advanceTime', nowMs: this.now() }),
          () => {
            const tx = this.core.transaction(txId);
            if (tx === undefined) throw new ProtocolError('tx_not_found', REJECTIONS.tx_not_found.code, REJECTIONS.tx_not_found.message);
            return tx as unknown as Record<string, unknown>;
          },
        ),
      queryParticipant: () =>
        roundTrip(
          () => ({ type: 'advanceTime', nowMs: this.now() }),
          () => {
            const view = this.core.participantView(address);
            return { bids: view.bids.map((bid) => ({ bidId: bid.bidId })), transactions: view.transactions as unknown as Array<Record<string, unknown> & { txId: string }> };
          },
        ),
      close: () => void this.listeners.delete(address),
    };
  }
}
