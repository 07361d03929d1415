// The exchange's view of the Bitcoin chain: the port the deposit watcher (and later the payout
// sender) reads and writes through. Adapters: Esplora's REST API (src/chain/esplora.ts), Bitcoin
// Core's JSON-RPC with a watch-only wallet (src/chain/bitcoin-core.ts), and the project's local
// devnet, which serves the Esplora API (src/chain/devnet.ts). Every answer is the backend's view
// *now*: the watcher compares it with what the exchange has journalled, so a restart, a replayed
// block or a reorg needs no memory in the adapter.

export interface ChainBlockRef {
  readonly height: number;
  /** Block hash, 64 lower-case hex characters, in the usual (reversed) display order. */
  readonly hash: string;
}

/** One transaction output paying one of the watched addresses. */
export interface ChainPayment {
  /** Transaction id, 64 lower-case hex characters. */
  readonly txid: string;
  readonly vout: number;
  readonly address: string;
  readonly valueSats: number;
  /** The best-chain block that holds the transaction; null while it is in the mempool. */
  readonly block: ChainBlockRef | null;
}

export interface FeeEstimate {
  /** Target in blocks → sat/vB. */
  readonly [targetBlocks: number]: number;
}

export interface ChainBackend {
  /** Short human name for logs ("esplora http://…", "devnet"). */
  readonly name: string;
  /** The best chain's tip. */
  tip(): Promise<ChainBlockRef>;
  /**
   * Every output paying one of `addresses`, in the best chain or in the mempool, as the backend
   * sees it now. Outputs of replaced, conflicted or reorged-out transactions are absent.
   */
  paymentsTo(addresses: readonly string[]): Promise<ChainPayment[]>;
  /** Whether the block with this hash is in the best chain (false for a stale or unknown block). */
  blockInBestChain(hash: string): Promise<boolean>;
  /** Fee rate estimates in sat/vB by confirmation target. */
  feeEstimates(): Promise<FeeEstimate>;
  /** Broadcasts a raw transaction (hex); returns its txid. Throws with the backend's reason. */
  broadcast(rawHex: string): Promise<string>;
  /**
   * The unspent outputs of `addresses` with the mempool applied: an output spent by a mempool
   * transaction is absent, one paid by a mempool transaction has `block: null`. (The payout
   * processor's wallet: which coins a batch may spend, and what the reconciliation counts.)
   */
  unspentOf(addresses: readonly string[]): Promise<ChainPayment[]>;
  /** Where a transaction is now: in a best-chain block, in the mempool, or unknown to the backend. */
  transactionStatus(txid: string): Promise<TransactionStatus>;
  /** Whether an output is spent in the best chain or the mempool, and by which transaction when the backend knows. */
  spenderOf(txid: string, vout: number): Promise<OutputSpender>;
}

export type TransactionStatus =
  | { readonly state: 'confirmed'; readonly block: ChainBlockRef }
  | { readonly state: 'mempool' }
  /** Never seen, or replaced, conflicted, or reorged out and not back in the mempool. */
  | { readonly state: 'unknown' };

export type OutputSpender =
  | { readonly spent: false }
  /** `txid` is null where the backend cannot say which transaction spent it (Bitcoin Core without an index). */
  | { readonly spent: true; readonly txid: string | null };

/** A backend answered something that is not what its API documents; the message says what. */
export class ChainBackendError extends Error {}

const HEX64 = /^[0-9a-f]{64}$/;

/** True for a 64-character lower-case hex string (a txid or block hash). */
export function isHash64(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}
