// The exchange's WebSocket protocol: signed commands, queries and subscriptions. Every command
// that changes state is signed (Bitcoin signed message over the text in signed-commands.ts) and
// carries a nonce; queries and subscriptions are public (the exchange keeps no secrets).
import { z } from 'zod';
import { AVOID_SELLERS_MAX } from '../market/limits.js';
import { defineProtocol, fields } from '../transport/protocol.js';

// Request schemas check types and sizes only. Where a value can be wrong in a way that has its own
// error code (a malformed address 2003, a signature of the wrong length 2002, an unknown side 3010,
// a price that is not whole satoshis 3011, an unknown message 4001, a bad amount 5001), the schema
// lets it through and the documented check answers with that code, in the documented order.
const address = z.string().max(100);
const nonce = z.string().max(128);
const signature = fields.bytesMax(128);
const articleId = z.string().max(128);
const sats = fields.nonNegativeInteger();
const amount = z.number();
const side = z.enum(['buy', 'sell']);
const signedPart = { address, nonce, signature };

/** A BUY's sellers not to be matched with (a retry elsewhere); each is checked as an address (2003). */
const avoid = z.array(address).max(AVOID_SELLERS_MAX).optional();
export const placeBidRequest = z.object({ article: articleId, side: z.string().max(16), priceSats: amount, avoid, ...signedPart });
export const withdrawBidRequest = z.object({ bidId: z.string().min(1).max(32), ...signedPart });
export const txMessageRequest = z.object({
  txId: z.string().min(1).max(32),
  message: z.string().max(32),
  fields: z.record(z.string().max(32), z.string().max(512)),
  ...signedPart,
});
export const creditRequest = z.object({ participant: address, amountSats: amount, ...signedPart });
/** The arbiter's decision: `sellerSats` of the price to the seller, the rest back to the buyer. */
export const resolveDisputeRequest = z.object({ txId: z.string().min(1).max(32), sellerSats: amount, ...signedPart });
/** The buyer's evidence for its disputed transaction: its transactions with other sellers for the same work. */
export const submitEvidenceRequest = z.object({ txId: z.string().min(1).max(32), witnesses: z.array(z.string().min(1).max(32)).max(8), ...signedPart });
/** A participant asks for a deposit address; `amountSats` only goes into the answer's BIP21 URI. */
export const requestDepositAddressRequest = z.object({ amountSats: amount.optional(), ...signedPart });
/** A withdrawal: `key` (the client's idempotency key) makes a resend the same withdrawal. */
export const requestWithdrawalRequest = z.object({ key: z.string().max(100), destination: z.string().max(200), amountSats: amount, ...signedPart });
/** The admin approves a withdrawal waiting for review (above the threshold, or a new destination's delay). */
export const approveWithdrawalRequest = z.object({ withdrawalId: z.string().min(1).max(32), ...signedPart });
/** The admin's withdrawal rules. */
export const withdrawalPolicyRequest = z.object({ dailyLimitSats: amount, manualAboveSats: amount, newDestinationDelayMs: amount, ...signedPart });
/** The payer's signed transaction for a batch waiting for it (`rawHex`: the whole transaction, hex). */
export const submitPayoutRequest = z.object({ batchId: z.string().min(1).max(32), rawHex: z.string().max(200_000), ...signedPart });
/** The admin fails a payout batch nobody signed yet, or one whose coins were double-spent (conflicted). */
export const failPayoutBatchRequest = z.object({ batchId: z.string().min(1).max(32), reason: z.string().min(1).max(500), ...signedPart });
/** The admin fails a withdrawal that is in no batch (requested or approved). */
export const failWithdrawalRequest = z.object({ withdrawalId: z.string().min(1).max(32), reason: z.string().min(1).max(500), ...signedPart });
/** The admin gives a failed withdrawal's money back to the participant. */
export const refundWithdrawalRequest = z.object({ withdrawalId: z.string().min(1).max(32), ...signedPart });
/** The arbiter freezes (or unfreezes) an account: no new bids, no payouts. */
export const accountFreezeRequest = z.object({ participant: address, ...signedPart });

/** An article as `defineArticle` takes it; its bounds are the core's (3002 article_invalid). */
const articleRequest = z.object({
  articleId,
  description: z.string().max(1024),
  feeNumerator: z.number(),
  feeDenominator: z.number(),
  priceSatsMin: z.number(),
  priceSatsMax: z.number(),
  bidLifetimeMs: z.number(),
});

const articleSpec = z.object({
  articleId,
  description: z.string(),
  feeNumerator: z.number().int(),
  feeDenominator: z.number().int(),
  priceSatsMin: z.number().int(),
  priceSatsMax: z.number().int(),
  bidLifetimeMs: z.number().int(),
});

const tradeCounts = z.object({ finished: sats, disputed: sats, disputesLost: sats, workRejected: sats, timedOut: sats });

export const defineArticleRequest = z.object({ article: articleRequest, ...signedPart });

/** A core event as pushed to subscribers: plain data with a `type` (see docs/protocol.md). */
const coreEvent = z.looseObject({ type: z.string() });

const count = fields.nonNegativeInteger();
/**
 * The pushed events a client acts on, as docs/protocol.md §10.3 lists them, for the receiving side
 * to check each push against (the envelope above lets any `type` through, so that a newer
 * exchange's new events are skipped by older clients rather than being protocol errors).
 */
export const pushedEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('bidAccepted'), bidId: z.string(), participant: address, article: articleId, side, priceSats: count, feeSats: count, holdSats: count, expiresMs: count }),
  z.object({ type: z.literal('bidPlaced'), bidId: z.string() }),
  z.object({ type: z.literal('bidExpired'), bidId: z.string(), atMs: count }),
  z.object({ type: z.literal('bidWithdrawn'), bidId: z.string(), atMs: count }),
  z.object({
    type: z.literal('trade'),
    txId: z.string(),
    article: articleId,
    buyBidId: z.string(),
    sellBidId: z.string(),
    restingBidId: z.string(),
    buyer: address,
    seller: address,
    priceSats: count,
    feeSats: count,
    atMs: count,
    deadlineMs: count,
  }),
  z.object({ type: z.literal('txMessageAccepted'), txId: z.string(), message: z.string(), from: z.string(), to: z.string(), deadlineMs: count, revision: count }),
  z.object({ type: z.literal('txRetired'), txId: z.string(), phase: z.string(), atMs: count, sellerSats: count, feeSats: count, refundSats: count, byArbiter: z.boolean(), byEvidence: z.boolean().optional() }),
  z.object({ type: z.literal('transfer'), kind: z.string(), from: z.string(), to: z.string(), amountSats: count, reference: z.string() }),
  z.object({ type: z.literal('depositAddressReserved'), participant: address, index: count, address: z.string(), fresh: z.boolean() }),
  z.object({
    type: z.literal('deposit'),
    depositId: z.string(),
    participant: address,
    address: z.string(),
    amountSats: count,
    change: z.enum(['seen', 'too_small', 'credited', 'dropped', 'moved', 'reversed', 'final']),
    block: z.object({ height: count, hash: z.string() }).nullable(),
  }),
  z.object({
    type: z.literal('withdrawal'),
    withdrawalId: z.string(),
    participant: address,
    state: z.enum(['requested', 'approved', 'batched', 'signed', 'broadcast', 'confirmed', 'completed', 'conflicted', 'failed', 'refunded']),
    destination: z.string(),
    amountSats: count,
    txid: z.string().nullable(),
    repeated: z.boolean(),
  }),
  z.object({ type: z.literal('accountOverdrawn'), participant: address, availableSats: z.number().int() }),
  z.object({ type: z.literal('accountFrozen'), participant: address }),
  z.object({ type: z.literal('accountUnfrozen'), participant: address }),
]);
export type PushedEvent = z.output<typeof pushedEvent>;
const openBid = z.looseObject({ bidId: z.string(), state: z.string(), side });

export const exchangeProtocol = defineProtocol({
  name: 'exchange',
  requests: {
    info: {
      request: z.object({}),
      response: z.object({
        exchangeId: z.string(),
        version: z.string(),
        network: z.enum(['mainnet', 'testnet', 'regtest']),
        nowMs: z.number().int(),
        nonceTtlMs: z.number().int(),
        articles: z.array(articleSpec),
      }),
    },
    placeBid: {
      request: placeBidRequest,
      response: z.object({ bidId: z.string(), feeSats: sats, holdSats: sats, expiresMs: z.number().int(), matched: z.boolean() }),
    },
    withdrawBid: { request: withdrawBidRequest, response: z.object({ bidId: z.string() }) },
    txMessage: {
      request: txMessageRequest,
      response: z.object({ txId: z.string(), phase: z.string(), deadlineMs: z.number().int(), revision: z.number().int() }),
    },
    credit: { request: creditRequest, response: z.object({ participant: address, availableSats: sats }) },
    defineArticle: { request: defineArticleRequest, response: z.object({ articleId }) },
    resolveDispute: { request: resolveDisputeRequest, response: z.object({ txId: z.string(), sellerSats: sats, refundSats: sats }) },
    submitEvidence: { request: submitEvidenceRequest, response: z.object({ txId: z.string(), sellerSats: sats, refundSats: sats }) },
    requestDepositAddress: {
      request: requestDepositAddressRequest,
      response: z.object({ address: z.string(), index: count, fresh: z.boolean(), uri: z.string() }),
    },
    requestWithdrawal: {
      request: requestWithdrawalRequest,
      response: z.object({ withdrawalId: z.string(), state: z.string(), destination: z.string(), amountSats: sats, repeated: z.boolean() }),
    },
    approveWithdrawal: { request: approveWithdrawalRequest, response: z.object({ withdrawalId: z.string(), state: z.string() }) },
    failWithdrawal: { request: failWithdrawalRequest, response: z.object({ withdrawalId: z.string(), state: z.string() }) },
    refundWithdrawal: { request: refundWithdrawalRequest, response: z.object({ withdrawalId: z.string(), state: z.string() }) },
    failPayoutBatch: { request: failPayoutBatchRequest, response: z.object({ batchId: z.string(), withdrawalIds: z.array(z.string()) }) },
    /** Batches waiting for the payer's signature, each with its PSBT and manifest (public, like `account`). */
    payouts: {
      request: z.object({}),
      response: z.object({
        batches: z.array(z.object({
          batchId: z.string(),
          psbtBase64: z.string(),
          feeRateSatVb: z.number(),
          manifest: z.object({
            batchId: z.string(),
            outputs: z.array(z.object({ withdrawalId: z.string(), address: z.string(), amountSats: sats })),
            change: z.object({ index: count, amountSats: sats }),
            feeSats: sats,
          }),
        })),
        /** The last reconciliation of the wallet with the ledger; null before the first. */
        reconciliation: z.object({ height: count, walletSats: sats, owedSats: z.number().int(), surplusSats: z.number().int(), halted: z.boolean() }).nullable(),
      }),
    },
    submitPayout: { request: submitPayoutRequest, response: z.object({ batchId: z.string(), txid: z.string() }) },
    setWithdrawalPolicy: { request: withdrawalPolicyRequest, response: z.object({ dailyLimitSats: sats, manualAboveSats: sats, newDestinationDelayMs: sats }) },
    freezeAccount: { request: accountFreezeRequest, response: z.object({ participant: address, frozen: z.boolean() }) },
    unfreezeAccount: { request: accountFreezeRequest, response: z.object({ participant: address, frozen: z.boolean() }) },
    /** Transactions in RESULT_DISPUTED with their evidence, oldest first (public, like `transaction`). */
    disputes: {
      request: z.object({ limit: z.number().int().min(1).max(1000).default(100) }),
      response: z.object({ disputes: z.array(z.looseObject({ txId: z.string(), phase: z.string() })) }),
    },
    account: {
      request: z.object({ address }),
      response: z.object({
        address: z.string(),
        frozen: z.boolean(),
        /** Negative only after a reversed deposit (the account is then frozen). */
        availableSats: z.number().int(),
        heldSats: sats,
        depositPendingSats: sats,
        payoutPendingSats: sats,
        /** The participant's withdrawals not yet completed or refunded. */
        withdrawals: z.array(z.object({ withdrawalId: z.string(), state: z.string(), destination: z.string(), amountSats: sats, txid: z.string().nullable(), createdMs: z.number().int() })),
        /** The participant's deposit addresses and what the chain watcher last saw paid to them. */
        deposits: z.object({
          addresses: z.array(z.object({ address: z.string(), index: count, used: z.boolean() })),
          tip: z.object({ height: count, hash: z.string() }).nullable(),
          list: z.array(z.object({
            depositId: z.string(),
            address: z.string(),
            amountSats: count,
            status: z.enum(['seen', 'confirming', 'credited', 'too_small']),
            confirmations: count,
            needed: count,
          })),
        }),
      }),
    },
    /** Public counts of how a participant's transactions ended, as seller and as buyer. */
    reputation: { request: z.object({ address }), response: z.object({ address: z.string(), sales: tradeCounts, purchases: tradeCounts }) },
    transaction: { request: z.object({ txId: z.string().min(1).max(32) }), response: z.looseObject({ txId: z.string(), phase: z.string() }) },
    bid: { request: z.object({ bidId: z.string().min(1).max(32) }), response: openBid },
    /** A participant's open bids and active transactions, for a daemon reconciling after a restart. */
    participant: {
      request: z.object({ address }),
      response: z.object({ bids: z.array(openBid), transactions: z.array(z.looseObject({ txId: z.string(), phase: z.string() })) }),
    },
    depth: {
      request: z.object({ article: articleId, levels: z.number().int().min(1).max(100).default(20) }),
      response: z.object({
        bids: z.array(z.object({ priceSats: sats, count: z.number().int() })),
        asks: z.array(z.object({ priceSats: sats, count: z.number().int() })),
      }),
    },
    /** Topics: `participant:<address>` (everything that concerns it), `market:<article>` (trades). */
    subscribe: { request: z.object({ topic: z.string().min(1).max(160) }), response: z.object({ topic: z.string() }) },
    unsubscribe: { request: z.object({ topic: z.string().min(1).max(160) }), response: z.object({ topic: z.string() }) },
  },
  pushes: {
    event: z.object({ topic: z.string(), event: coreEvent }),
  },
});

export type ExchangeProtocol = typeof exchangeProtocol;
