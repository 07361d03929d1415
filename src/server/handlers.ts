// The exchange protocol's request handlers: each signed command checks its signer in the
// documented order (address, signature shape, signature, then in Exchange.execute: nonce, rate,
// rights, the command's own fields, core), and answers from the core's events once the command is
// durable. Queries read memory and answer through the read gate (Exchange.durable).
import { NONCE_TTL_MS } from '../limits.js';
import { ProtocolError } from '../transport/errors.js';
import type { Handlers } from '../transport/rpc.js';
import type { CoreEvent } from '../market/commands.js';
import type { TxMessageType } from '../market/tx-messages.js';
import { REJECTIONS, type RejectionName } from '../market/rejections.js';
import type { Exchange } from './exchange.js';
import type { ExchangeProtocol } from '../protocol/exchange.js';
import { approveWithdrawalText, failPayoutBatchText, failWithdrawalText, refundWithdrawalText, submitPayoutText, creditText, defineArticleText, freezeAccountText, placeBidText, requestDepositAddressText, requestWithdrawalText, withdrawalPolicyText, resolveDisputeText, submitEvidenceText, txMessageText, withdrawBidText } from '../protocol/signed-commands.js';
import { coreSide, wireBid } from './wire.js';
import { bip21Uri, depositAddress } from '../chain/deposit-keys.js';
import { checkWithdrawalAmount, parseWithdrawalAddress } from '../chain/withdrawal-address.js';
import { MONEY_SATS_MAX } from '../market/limits.js';
import { PayoutRefusal } from '../chain/payout-processor.js';

const VERSION = '0.1.0';

function rejection(name: RejectionName, detail: string): ProtocolError {
  return new ProtocolError(name, REJECTIONS[name].code, `${REJECTIONS[name].message}: ${detail}`);
}

function eventOf<T extends CoreEvent['type']>(events: readonly CoreEvent[], type: T): Extract<CoreEvent, { type: T }> {
  const found = events.find((event) => event.type === type);
  if (found === undefined) throw ProtocolError.of('internal', `no ${type} event`);
  return found as Extract<CoreEvent, { type: T }>;
}

/** What `info` (WebSocket) and `/api/info` (HTTP) tell about the exchange. */
export function serverInfo(exchange: Exchange) {
  return {
    exchangeId: exchange.exchangeId,
    version: exchange.options.version ?? VERSION,
    network: exchange.options.network,
    nowMs: exchange.commandTime(),
    nonceTtlMs: NONCE_TTL_MS,
    articles: [...exchange.core.catalogue()],
  };
}

const DESTINATION_ERRORS = {
  address_invalid: 'withdrawal_address_invalid',
  address_wrong_network: 'withdrawal_address_wrong_network',
  address_unsupported: 'withdrawal_address_unsupported',
  amount_below_dust: 'withdrawal_amount_dust',
} as const;

/**
 * A withdrawal's destination, checked on the exchange's chain (the deposit key's network: the
 * devnet's is regtest) and normalised; the exchange's own deposit addresses and dust are refused.
 * A malformed amount is left to the core (5001).
 */
function checkedDestination(exchange: Exchange, text: string, amountSats: number): string {
  const parsed = parseWithdrawalAddress(text, exchange.options.depositKey?.network ?? exchange.options.network);
  if (!parsed.ok) throw ProtocolError.of(DESTINATION_ERRORS[parsed.problem], parsed.detail);
  const { destination } = parsed;
  if (exchange.core.funds.depositAddressOwner(destination.address) !== undefined) throw ProtocolError.of('withdrawal_address_own', 'pay to a wallet of your own, not back into the exchange');
  if (Number.isSafeInteger(amountSats) && amountSats > 0) {
    const amount = checkWithdrawalAmount(destination, amountSats);
    if (!amount.ok) throw ProtocolError.of('withdrawal_amount_dust', amount.detail);
  }
  return destination.address;
}

function payoutsOf(exchange: Exchange): NonNullable<Exchange['payoutProcessor']> {
  if (exchange.payoutProcessor === undefined) throw ProtocolError.of('payouts_disabled', 'the operator starts it with --payouts (and --deposit-key and --chain)');
  return exchange.payoutProcessor;
}

export function commandHandlers(exchange: Exchange): Handlers<ExchangeProtocol> {
  const id = exchange.exchangeId;
  /** freezeAccount and unfreezeAccount: the arbiter's, one signed type each. */
  const setFrozen = async (body: { participant: string; address: string; nonce: string; signature: Uint8Array }, frozen: boolean) => {
    await exchange.submitSigned(body, freezeAccountText(id, body, frozen), (nowMs) => {
      exchange.checkAddress(body.participant);
      return { type: frozen ? 'freezeAccount' : 'unfreezeAccount', nowMs, participant: body.participant };
    }, { arbiter: true });
    return { participant: body.participant, frozen };
  };
  return {
    info: () => exchange.durable(serverInfo(exchange)),

    placeBid: async (body) => {
      const events = await exchange.submitSigned(body, placeBidText(id, body), (nowMs) => {
        for (const seller of body.avoid ?? []) exchange.checkAddress(seller);
        const avoid = body.avoid === undefined || body.avoid.length === 0 ? {} : { avoid: body.avoid };
        return { type: 'placeBid', nowMs, participant: body.address, side: coreSide(body.side), article: body.article, priceSats: body.priceSats, ...avoid };
      });
      const accepted = eventOf(events, 'bidAccepted');
      return {
        bidId: accepted.bidId,
        feeSats: accepted.feeSats,
        holdSats: accepted.holdSats,
        expiresMs: accepted.expiresMs,
        matched: events.some((event) => event.type === 'trade'),
      };
    },

    withdrawBid: async (body) => {
      await exchange.submitSigned(body, withdrawBidText(id, body), (nowMs) => ({ type: 'withdrawBid', nowMs, participant: body.address, bidId: body.bidId }));
      return { bidId: body.bidId };
    },

    txMessage: async (body) => {
      const events = await exchange.submitSigned(body, txMessageText(id, body), (nowMs) => ({
        type: 'txMessage', nowMs, participant: body.address, txId: body.txId, message: body.message as TxMessageType, fields: body.fields,
      }));
      const accepted = eventOf(events, 'txMessageAccepted');
      return { txId: body.txId, phase: accepted.to, deadlineMs: accepted.deadlineMs, revision: accepted.revision };
    },

    credit: async (body) => {
      await exchange.submitSigned(body, creditText(id, body), (nowMs) => {
        exchange.checkAddress(body.participant);
        return { type: 'credit', nowMs, participant: body.participant, amountSats: body.amountSats };
      }, { admin: true });
      return { participant: body.participant, availableSats: exchange.core.account(body.participant)?.availableSats ?? 0 };
    },

    defineArticle: async (body) => {
      await exchange.submitSigned(body, defineArticleText(id, body), (nowMs) => ({ type: 'defineArticle', nowMs, article: body.article }), { admin: true });
      return { articleId: body.article.articleId };
    },

    resolveDispute: async (body) => {
      const events = await exchange.submitSigned(body, resolveDisputeText(id, body), (nowMs) => ({ type: 'resolveDispute', nowMs, txId: body.txId, sellerSats: body.sellerSats }), { arbiter: true });
      const retired = eventOf(events, 'txRetired');
      return { txId: body.txId, sellerSats: retired.sellerSats, refundSats: retired.refundSats };
    },

    submitEvidence: async (body) => {
      const events = await exchange.submitSigned(body, submitEvidenceText(id, body), (nowMs) => ({ type: 'submitEvidence', nowMs, participant: body.address, txId: body.txId, witnesses: body.witnesses }));
      const retired = eventOf(events, 'txRetired');
      return { txId: body.txId, sellerSats: retired.sellerSats, refundSats: retired.refundSats };
    },

    requestDepositAddress: async (body) => {
      const events = await exchange.submitSigned(body, requestDepositAddressText(id, body), (nowMs) => {
        const key = exchange.options.depositKey;
        if (key === undefined || exchange.depositWatcher === undefined) throw ProtocolError.of('deposits_disabled', 'the operator starts it with --deposit-key and --chain');
        if (body.amountSats !== undefined && !(Number.isSafeInteger(body.amountSats) && body.amountSats > 0 && body.amountSats <= MONEY_SATS_MAX)) {
          throw rejection('amount_invalid', String(body.amountSats));
        }
        // Derived for the core's next index; the core takes it, or answers an unused one at the bound.
        const index = exchange.core.funds.nextDepositIndex();
        return { type: 'requestDepositAddress', nowMs, participant: body.address, index, address: depositAddress(key, index) };
      });
      const reserved = eventOf(events, 'depositAddressReserved');
      return { address: reserved.address, index: reserved.index, fresh: reserved.fresh, uri: bip21Uri(reserved.address, body.amountSats) };
    },

    requestWithdrawal: async (body) => {
      const events = await exchange.submitSigned(body, requestWithdrawalText(id, body), (nowMs) => {
        const destination = checkedDestination(exchange, body.destination, body.amountSats);
        return { type: 'requestWithdrawal', nowMs, participant: body.address, key: body.key, destination, amountSats: body.amountSats };
      });
      const answer = eventOf(events, 'withdrawal');
      return { withdrawalId: answer.withdrawalId, state: answer.state, destination: answer.destination, amountSats: answer.amountSats, repeated: answer.repeated };
    },

    approveWithdrawal: async (body) => {
      const events = await exchange.submitSigned(body, approveWithdrawalText(id, body), (nowMs) => ({ type: 'withdrawalStep', nowMs, withdrawalId: body.withdrawalId, step: { type: 'APPROVE', by: 'admin', nowMs } }), { admin: true });
      const answer = eventOf(events, 'withdrawal');
      return { withdrawalId: answer.withdrawalId, state: answer.state };
    },

    setWithdrawalPolicy: async (body) => {
      const policy = { dailyLimitSats: body.dailyLimitSats, manualAboveSats: body.manualAboveSats, newDestinationDelayMs: body.newDestinationDelayMs };
      await exchange.submitSigned(body, withdrawalPolicyText(id, body), (nowMs) => ({ type: 'setWithdrawalPolicy', nowMs, policy }), { admin: true });
      return policy;
    },

    failWithdrawal: async (body) => {
      const events = await exchange.submitSigned(body, failWithdrawalText(id, body), (nowMs) => ({ type: 'withdrawalStep', nowMs, withdrawalId: body.withdrawalId, step: { type: 'FAIL', reason: body.reason } }), { admin: true });
      const answer = eventOf(events, 'withdrawal');
      return { withdrawalId: answer.withdrawalId, state: answer.state };
    },

    refundWithdrawal: async (body) => {
      const events = await exchange.submitSigned(body, refundWithdrawalText(id, body), (nowMs) => ({ type: 'withdrawalStep', nowMs, withdrawalId: body.withdrawalId, step: { type: 'REFUND' } }), { admin: true });
      const answer = eventOf(events, 'withdrawal');
      return { withdrawalId: answer.withdrawalId, state: answer.state };
    },

    failPayoutBatch: async (body) => {
      const events = await exchange.submitSigned(body, failPayoutBatchText(id, body), (nowMs) => ({ type: 'payoutBatchStep', nowMs, batchId: body.batchId, step: { type: 'FAIL', reason: body.reason } }), { admin: true });
      return { batchId: body.batchId, withdrawalIds: [...eventOf(events, 'payoutBatch').withdrawalIds] };
    },

    payouts: () => {
      const processor = payoutsOf(exchange);
      return exchange.durable({ batches: processor.toSign().map((batch) => ({ ...batch, manifest: { ...batch.manifest, outputs: [...batch.manifest.outputs] } })), reconciliation: processor.status().reconciliation });
    },

    submitPayout: async (body) => {
      let txid = '';
      await exchange.submitSigned(body, submitPayoutText(id, body), (nowMs) => {
        try {
          txid = payoutsOf(exchange).checkSigned(body.batchId, body.rawHex);
        } catch (error) {
          if (!(error instanceof PayoutRefusal)) throw error;
          throw error.reason === 'payout_signed_invalid' ? ProtocolError.of('payout_signed_invalid', error.message) : rejection(error.reason, error.message);
        }
        return { type: 'payoutSigned', nowMs, batchId: body.batchId, txid, rawHex: body.rawHex.toLowerCase() };
      }, { payer: true });
      return { batchId: body.batchId, txid };
    },

    freezeAccount: (body) => setFrozen(body, true),
    unfreezeAccount: (body) => setFrozen(body, false),

    disputes: ({ limit }) => exchange.durable({ disputes: exchange.core.disputes(limit) as never }),

    account: ({ address }) => {
      exchange.checkAddress(address);
      const account = exchange.core.account(address) ?? { address, frozen: false, availableSats: 0, heldSats: 0, depositPendingSats: 0, payoutPendingSats: 0 };
      const seen = exchange.depositWatcher?.depositsOf(address) ?? { tip: null, deposits: [] };
      const addresses = exchange.core.funds.depositAddressesOf(address).map(({ address: deposit, index, used }) => ({ address: deposit, index, used }));
      const withdrawals = exchange.core.funds.withdrawalsOf(address).map(({ withdrawalId, state, destination, amountSats, txid, createdMs }) => ({ withdrawalId, state, destination, amountSats, txid, createdMs }));
      return exchange.durable({ ...account, withdrawals, deposits: { addresses, tip: seen.tip, list: seen.deposits } });
    },

    reputation: ({ address }) => {
      exchange.checkAddress(address);
      return exchange.durable(exchange.core.reputationOf(address));
    },

    transaction: ({ txId }) => {
      const tx = exchange.core.transaction(txId);
      if (tx === undefined) throw rejection('tx_not_found', `no active transaction ${txId}`);
      return exchange.durable({ ...tx } as never);
    },

    bid: ({ bidId }) => {
      const bid = exchange.core.bid(bidId);
      if (bid === undefined) throw rejection('bid_not_found', `no open bid ${bidId}`);
      return exchange.durable(wireBid(bid) as never);
    },

    participant: ({ address }) => {
      exchange.checkAddress(address);
      const view = exchange.core.participantView(address);
      return exchange.durable({ bids: view.bids.map(wireBid) as never, transactions: view.transactions as never });
    },

    depth: ({ article, levels }) => {
      const depth = exchange.core.depth(article, levels);
      if (depth === undefined) throw rejection('article_unknown', article);
      return exchange.durable({ bids: [...depth.bids], asks: [...depth.asks] });
    },

    subscribe: ({ topic }, { peer }) => {
      if (!/^(participant|market):[\x21-\x7e]{1,150}$/.test(topic)) throw ProtocolError.of('invalid_body', `unknown topic "${topic}"`);
      exchange.topics.subscribe(peer, topic);
      return { topic };
    },

    unsubscribe: ({ topic }, { peer }) => {
      exchange.topics.unsubscribe(peer, topic);
      return { topic };
    },
  };
}
