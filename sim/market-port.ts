// What an agent needs of the market, whichever way it is connected: through the production
// exchange over the in-process network (sim/agent-link.ts), or straight into the market core
// (sim/core-market.ts).
import type { PushedEvent } from '../src/protocol/exchange.js';
import type { TradeCounts } from '../src/market/reputation.js';
import type { TxMessageType } from '../src/market/tx-messages.js';

/** A command's answer, or 'duplicate' when a resend found it had taken effect already. */
export type Answer<T> = T | 'duplicate';

export interface MarketPort {
  /** `avoid`: a buy's sellers not to be matched with. */
  placeBid(article: string, side: 'buy' | 'sell', priceSats: number, avoid?: readonly string[]): Promise<Answer<{ readonly bidId: string }>>;
  withdrawBid(bidId: string): Promise<Answer<unknown>>;
  txMessage(txId: string, message: TxMessageType, fields?: Record<string, string>): Promise<Answer<unknown>>;
  /** Buyer only: evidence for its disputed transaction (submitEvidence). */
  submitEvidence(txId: string, witnesses: readonly string[]): Promise<Answer<unknown>>;
  /** A participant's public counts (the reputation query). */
  queryReputation(address: string): Promise<{ readonly sales: TradeCounts }>;
  /** Admin only. */
  credit(participant: string, amountSats: number): Promise<Answer<unknown>>;
  /** The active transaction, or a ProtocolError tx_not_found. */
  queryTransaction(txId: string): Promise<Record<string, unknown>>;
  /** This participant's open bids and active transactions. */
  queryParticipant(): Promise<{ readonly bids: ReadonlyArray<{ readonly bidId: string }>; readonly transactions: ReadonlyArray<Record<string, unknown> & { readonly txId: string }> }>;
  close(): void;
}

/** Opens an agent's port; `onReconnect` is told when pushes may have been missed. */
export type ConnectAgent = (address: string, onEvent: (event: PushedEvent) => void, onReconnect: () => void) => MarketPort;
