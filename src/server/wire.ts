// How the core's values look on the wire: one casing for sides in both directions (`buy`/`sell`,
// as requests spell them), whatever the core calls them inside (BUY/SELL).
import type { BidSide } from '../machines/bid.js';
import type { PushedEvent } from '../protocol/exchange.js';
import type { RoutableEvent } from './event-routing.js';

export type WireSide = 'buy' | 'sell';

export function wireSide(side: BidSide): WireSide {
  return side === 'BUY' ? 'buy' : 'sell';
}

/** A request's side as the core names it; anything else passes through for the core to refuse (3010). */
export function coreSide(side: string): BidSide {
  return side === 'buy' ? 'BUY' : side === 'sell' ? 'SELL' : (side as BidSide);
}

/** A core event as pushed to subscribers (docs/protocol.md §10.3, `pushedEvent`). */
export function wireEvent(event: RoutableEvent): PushedEvent {
  return event.type === 'bidAccepted' ? { ...event, side: wireSide(event.side) } : event;
}

/** A bid snapshot (query answers), with its side as the wire spells it. */
export function wireBid<T extends { readonly side: BidSide }>(bid: T): Omit<T, 'side'> & { side: WireSide } {
  return { ...bid, side: wireSide(bid.side) };
}
