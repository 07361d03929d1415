// Who hears about a core event. Topics: `participant:<address>` gets every event that concerns
// that address (its bids, its transactions, its money); `market:<article>` gets the trades.
// Some events name only a bid or transaction id, so an index maps ids to their participants; it
// is derived state, rebuilt from a snapshot's bids and transactions and kept up by the events.
import type { CoreEvent } from '../market/commands.js';
import type { MarketState } from '../market/state.js';

export class EventIndex {
  readonly bidOwner = new Map<string, string>();
  readonly txParties = new Map<string, readonly [buyer: string, seller: string]>();

  rebuild(state: MarketState): void {
    this.bidOwner.clear();
    this.txParties.clear();
    for (const bid of state.bids) this.bidOwner.set(bid.bidId, bid.participant);
    for (const tx of state.transactions) this.txParties.set(tx.txId, [tx.buyer, tx.seller]);
  }
}

/**
 * The events that reach subscribers (articles are read with `info`; the withdrawal policy and
 * payout batches are the operator's: not pushed; participants hear of their own withdrawals).
 */
export type RoutableEvent = Exclude<CoreEvent, { readonly type: 'articleDefined' | 'withdrawalPolicySet' | 'payoutBatch' }>;

export interface RoutedEvent {
  readonly topic: string;
  readonly event: RoutableEvent;
}

/** The topics of each event, in order; updates the index as bids and transactions open and close. */
export function routeEvents(index: EventIndex, events: readonly CoreEvent[]): RoutedEvent[] {
  const routed: RoutedEvent[] = [];
  const to = (address: string | undefined, event: RoutableEvent): void => {
    if (address !== undefined) routed.push({ topic: `participant:${address}`, event });
  };
  for (const event of events) {
    switch (event.type) {
      case 'bidAccepted':
        index.bidOwner.set(event.bidId, event.participant);
        to(event.participant, event);
        break;
      case 'bidPlaced':
        to(index.bidOwner.get(event.bidId), event);
        break;
      case 'bidExpired':
      case 'bidWithdrawn':
        to(index.bidOwner.get(event.bidId), event);
        index.bidOwner.delete(event.bidId);
        break;
      case 'trade':
        index.bidOwner.delete(event.buyBidId);
        index.bidOwner.delete(event.sellBidId);
        index.txParties.set(event.txId, [event.buyer, event.seller]);
        to(event.buyer, event);
        if (event.seller !== event.buyer) to(event.seller, event);
        routed.push({ topic: `market:${event.article}`, event });
        break;
      case 'txMessageAccepted':
      case 'txRetired': {
        const parties = index.txParties.get(event.txId);
        to(parties?.[0], event);
        if (parties !== undefined && parties[1] !== parties[0]) to(parties[1], event);
        if (event.type === 'txRetired') index.txParties.delete(event.txId);
        break;
      }
      case 'transfer': {
        const owners = new Set([event.from, event.to].map((name) => name.split(':')[1]).filter((owner) => owner !== undefined));
        for (const owner of owners) to(owner, event);
        break;
      }
      case 'depositAddressReserved':
      case 'deposit':
      case 'accountOverdrawn':
      case 'withdrawal':
      case 'accountFrozen':
      case 'accountUnfrozen':
        to(event.participant, event);
        break;
      case 'articleDefined':
      case 'withdrawalPolicySet':
      case 'payoutBatch':
        break;
    }
  }
  return routed;
}
