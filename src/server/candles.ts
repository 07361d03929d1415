// Price history per article: one-minute candles (open, high, low, close, volume, trades) kept in
// bounded memory, aggregated to any multiple of a minute on query, like the original's price
// query. Fed with every trade, also during journal replay, so it is derived state.
import { assert } from '../assert.js';

export interface Candle {
  readonly startMs: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  /** Sum of the trade prices in satoshis. */
  readonly volumeSats: number;
  readonly trades: number;
}

export const MINUTE_MS = 60_000;
/** One week of minutes per article. */
const MINUTES_KEPT_MAX = 7 * 24 * 60;
const ARTICLES_MAX = 4096;
export const CANDLES_PER_QUERY_MAX = 1000;

export class PriceHistory {
  private readonly minutes = new Map<string, Map<number, Candle>>();

  record(trade: { article: string; priceSats: number; atMs: number }): void {
    let candles = this.minutes.get(trade.article);
    if (candles === undefined) {
      if (this.minutes.size >= ARTICLES_MAX) return; // bounded: articles beyond the cap are not charted
      this.minutes.set(trade.article, (candles = new Map()));
    }
    const startMs = Math.floor(trade.atMs / MINUTE_MS) * MINUTE_MS;
    const previous = candles.get(startMs);
    const price = trade.priceSats;
    candles.set(startMs, previous === undefined
      ? { startMs, open: price, high: price, low: price, close: price, volumeSats: price, trades: 1 }
      : { startMs, open: previous.open, high: Math.max(previous.high, price), low: Math.min(previous.low, price), close: price, volumeSats: previous.volumeSats + price, trades: previous.trades + 1 });
    if (candles.size > MINUTES_KEPT_MAX) {
      const oldest = candles.keys().next().value as number; // insertion order is time order
      candles.delete(oldest);
    }
  }

  /**
   * Candles of `slotMs` (a multiple of a minute) covering [fromMs, toMs), oldest first; slots
   * without trades are left out. Returns an error message for a bad query.
   */
  candles(article: string, query: { fromMs: number; toMs: number; slotMs: number }): Candle[] | string {
    const { fromMs, toMs, slotMs } = query;
    if (slotMs <= 0 || slotMs % MINUTE_MS !== 0) return `slot must be a positive multiple of ${MINUTE_MS} ms`;
    if (toMs <= fromMs) return 'to must be after from';
    if ((toMs - fromMs) / slotMs > CANDLES_PER_QUERY_MAX) return `at most ${CANDLES_PER_QUERY_MAX} slots per query`;
    const slots = new Map<number, Candle>();
    for (const minute of this.minutes.get(article)?.values() ?? []) {
      if (minute.startMs < fromMs || minute.startMs >= toMs) continue;
      const startMs = fromMs + Math.floor((minute.startMs - fromMs) / slotMs) * slotMs;
      const slot = slots.get(startMs);
      slots.set(startMs, slot === undefined ? { ...minute, startMs } : {
        startMs,
        open: slot.open,
        high: Math.max(slot.high, minute.high),
        low: Math.min(slot.low, minute.low),
        close: minute.close,
        volumeSats: slot.volumeSats + minute.volumeSats,
        trades: slot.trades + minute.trades,
      });
    }
    const result = [...slots.values()];
    assert(result.every((candle, index) => index === 0 || candle.startMs > result[index - 1]!.startMs), 'candles are in time order');
    return result;
  }
}
