// Mandates: the user's standing permission for the daemon to trade (reference §6.4). A mandate
// names a side, an article and a price limit, and may be limited to a number of trades and an
// expiry. No bid is placed without one, or without an explicit price on the buy request itself.
// A buy mandate is reserved when it clears a buy and used when that buy places its first bid (a
// purchase that never bids costs it nothing); a sell mandate is used when a sell bid matches.
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { ARTICLE_ID_PATTERN } from '../market/articles.js';
import { MONEY_SATS_MAX } from '../market/limits.js';
import { SELLER_DISPUTES_LOST_MAX_DEFAULT } from '../market/reputation.js';
import type { DaemonStore } from './daemon-store.js';

export interface Mandate {
  readonly mandateId: string;
  readonly side: 'buy' | 'sell';
  readonly article: string;
  readonly priceSats: number;
  /** Trades it still allows; null: no limit. */
  readonly tradesLeft: number | null;
  /** When it stops (ms since the epoch); null: never. */
  readonly expiresMs: number | null;
  readonly createdMs: number;
  /** Buy mandates: sellers that lost more disputes than this are refused when matched (default 0). */
  readonly sellerDisputesLostMax?: number;
}

/** The body of POST /mandates. */
export const mandateRequest = z.strictObject({
  side: z.enum(['buy', 'sell']),
  article: z.string().min(1).max(128).regex(ARTICLE_ID_PATTERN, 'not an article id'),
  priceSats: z.number().int().min(0).max(MONEY_SATS_MAX),
  trades: z.number().int().min(1).max(1_000_000).optional(),
  validForSeconds: z.number().int().min(1).max(366 * 24 * 3600).optional(),
  /** Buy mandates only: refuse matched sellers that lost more disputes than this (default 0). */
  sellerDisputesLostMax: z.number().int().min(0).max(1_000_000).optional(),
}).refine((request) => request.side === 'buy' || request.sellerDisputesLostMax === undefined, { message: 'sellerDisputesLostMax is for buy mandates', path: ['sellerDisputesLostMax'] });
export type MandateRequest = z.output<typeof mandateRequest>;

/** Mandates one daemon keeps (each is a standing permission the user granted through the API). */
export const MANDATES_MAX = 1000;

export class Mandates {
  private readonly byId = new Map<string, Mandate>();
  /** Trades of a mandate promised to buys that have not placed their bid yet (not saved). */
  private readonly reserved = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private counter = 0;

  constructor(
    private readonly store: DaemonStore,
    private readonly clock: Clock,
  ) {}

  async load(): Promise<void> {
    for (const mandate of await this.store.loadMandates()) {
      this.byId.set(mandate.mandateId, mandate);
      this.counter = Math.max(this.counter, Number(mandate.mandateId.slice(1)) || 0);
    }
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): Mandate[] {
    this.dropSpent();
    return [...this.byId.values()];
  }

  /** Grants a mandate; 'full' when MANDATES_MAX are in force already. */
  async add(request: MandateRequest): Promise<Mandate | 'full'> {
    this.dropSpent();
    if (this.byId.size >= MANDATES_MAX) return 'full';
    const nowMs = this.clock.now();
    const mandate: Mandate = {
      mandateId: `m${++this.counter}`,
      side: request.side,
      article: request.article,
      priceSats: request.priceSats,
      tradesLeft: request.trades ?? null,
      expiresMs: request.validForSeconds === undefined ? null : nowMs + request.validForSeconds * 1000,
      createdMs: nowMs,
      ...(request.sellerDisputesLostMax === undefined ? {} : { sellerDisputesLostMax: request.sellerDisputesLostMax }),
    };
    await this.store.saveMandate(mandate);
    this.byId.set(mandate.mandateId, mandate);
    this.changed();
    return mandate;
  }

  async revoke(mandateId: string): Promise<boolean> {
    if (!this.byId.has(mandateId)) return false;
    await this.store.deleteMandate(mandateId);
    this.byId.delete(mandateId);
    this.changed();
    return true;
  }

  /** The most disputes a seller may have lost for a buy this mandate cleared (`request`: the default). */
  sellerDisputesLostMax(clearedBy: string | null): number {
    return (clearedBy === null ? undefined : this.byId.get(clearedBy)?.sellerDisputesLostMax) ?? SELLER_DISPUTES_LOST_MAX_DEFAULT;
  }

  /** The oldest mandate that allows a trade on this side and article now. */
  find(side: 'buy' | 'sell', article: string): Mandate | undefined {
    this.dropSpent();
    for (const mandate of this.byId.values()) {
      if (mandate.side !== side || mandate.article !== article) continue;
      if (mandate.tradesLeft !== null && mandate.tradesLeft <= (this.reserved.get(mandate.mandateId) ?? 0)) continue;
      return mandate;
    }
    return undefined;
  }

  /** Promises one trade of a mandate to a buy that is about to bid ({@link use} or {@link release} it). */
  reserve(mandateId: string): void {
    this.reserved.set(mandateId, (this.reserved.get(mandateId) ?? 0) + 1);
  }

  /** The buy a trade was reserved for ended without a bid: the trade is free again. */
  release(mandateId: string): void {
    const count = (this.reserved.get(mandateId) ?? 0) - 1;
    if (count > 0) this.reserved.set(mandateId, count);
    else this.reserved.delete(mandateId);
    this.changed();
  }

  /** Spends one trade of a mandate (gone mandates are fine: the trade was already allowed). */
  async use(mandateId: string): Promise<void> {
    if (this.reserved.has(mandateId)) this.release(mandateId);
    const mandate = this.byId.get(mandateId);
    if (mandate === undefined || mandate.tradesLeft === null) return;
    const next = { ...mandate, tradesLeft: mandate.tradesLeft - 1 };
    if (next.tradesLeft <= 0) {
      await this.store.deleteMandate(mandateId);
      this.byId.delete(mandateId);
    } else {
      await this.store.saveMandate(next);
      this.byId.set(mandateId, next);
    }
    this.changed();
  }

  private dropSpent(): void {
    const nowMs = this.clock.now();
    for (const [id, mandate] of this.byId) {
      if (mandate.expiresMs !== null && nowMs >= mandate.expiresMs) {
        this.byId.delete(id);
        void this.store.deleteMandate(id);
      }
    }
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
