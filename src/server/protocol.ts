// The exchange's WebSocket protocol: signed commands, queries and subscriptions. Every command
// that changes state is signed (Bitcoin signed message over the text in signed-commands.ts) and
// carries a nonce; queries and subscriptions are public (the exchange keeps no secrets).
import { z } from 'zod';
import { defineProtocol, fields } from '../transport/protocol.js';

const address = z.string().min(26).max(35);
const nonce = z.string().min(1).max(64);
const signature = fields.bytes(65);
const articleId = z.string().min(1).max(128);
const sats = fields.nonNegativeInteger();
const signedPart = { address, nonce, signature };

export const placeBidRequest = z.object({ article: articleId, side: z.enum(['buy', 'sell']), priceSats: sats, ...signedPart });
export const withdrawBidRequest = z.object({ bidId: z.string().min(1).max(32), ...signedPart });
export const txMessageRequest = z.object({
  txId: z.string().min(1).max(32),
  message: z.enum(['workhash', 'workerurl', 'buyersecret', 'rejectwork', 'encresult', 'rejectresult', 'acceptresult']),
  fields: z.record(z.string().max(32), z.string().max(512)),
  ...signedPart,
});
export const creditRequest = z.object({ participant: address, amountSats: sats, ...signedPart });

const articleSpec = z.object({
  articleId,
  description: z.string(),
  feeNumerator: z.number().int(),
  feeDenominator: z.number().int(),
  priceSatsMin: z.number().int(),
  priceSatsMax: z.number().int(),
  bidLifetimeMs: z.number().int(),
});

export const defineArticleRequest = z.object({ article: z.lazy(() => articleSpec), ...signedPart });

/** A core event as pushed to subscribers: plain data with a `type` (see docs/protocol.md). */
const coreEvent = z.looseObject({ type: z.string() });

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
    account: {
      request: z.object({ address }),
      response: z.object({
        address,
        frozen: z.boolean(),
        availableSats: sats,
        heldSats: sats,
        depositPendingSats: sats,
        payoutPendingSats: sats,
      }),
    },
    transaction: { request: z.object({ txId: z.string().min(1).max(32) }), response: z.looseObject({ txId: z.string(), phase: z.string() }) },
    bid: { request: z.object({ bidId: z.string().min(1).max(32) }), response: z.looseObject({ bidId: z.string(), state: z.string() }) },
    /** A participant's open bids and active transactions, for a daemon reconciling after a restart. */
    participant: {
      request: z.object({ address }),
      response: z.object({ bids: z.array(z.looseObject({ bidId: z.string(), state: z.string() })), transactions: z.array(z.looseObject({ txId: z.string(), phase: z.string() })) }),
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
