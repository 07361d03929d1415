// The exact text a participant signs for each exchange command (docs/protocol.md §8, §10).
// Field order is fixed per command; `exchange` binds a command to one exchange, `address` and
// `nonce` come last. The signature travels as 65 raw bytes; the signed text is what wallets show.
import { createHash } from 'node:crypto';
import { signedText, type SignedFields } from '../crypto/signed-text.js';
import { isTxMessageType, TX_MESSAGE_FIELDS } from '../market/tx-messages.js';
import type { z } from 'zod';
import type { accountFreezeRequest, approveWithdrawalRequest, failPayoutBatchRequest, failWithdrawalRequest, refundWithdrawalRequest, submitPayoutRequest, creditRequest, requestDepositAddressRequest, requestWithdrawalRequest, withdrawalPolicyRequest, defineArticleRequest, placeBidRequest, resolveDisputeRequest, submitEvidenceRequest, txMessageRequest, withdrawBidRequest } from './exchange.js';

type Signer = { readonly address: string; readonly nonce: string };

function withSigner(exchangeId: string, body: Signer, middle: SignedFields): SignedFields {
  return [['exchange', exchangeId], ...middle, ['address', body.address], ['nonce', body.nonce]];
}

export function placeBidText(exchangeId: string, body: Omit<z.input<typeof placeBidRequest>, 'signature'>): string {
  // The avoid line is there only when the bid names sellers, so a bid without one signs the same text as before.
  const avoid: SignedFields = body.avoid === undefined || body.avoid.length === 0 ? [] : [['avoid', body.avoid.join(',')]];
  return signedText('bid.place', withSigner(exchangeId, body, [['article', body.article], ['side', body.side], ['price', body.priceSats], ...avoid]));
}

export function withdrawBidText(exchangeId: string, body: Omit<z.input<typeof withdrawBidRequest>, 'signature'>): string {
  return signedText('bid.withdraw', withSigner(exchangeId, body, [['bid', body.bidId]]));
}

export function txMessageText(exchangeId: string, body: Omit<z.input<typeof txMessageRequest>, 'signature'>): string {
  // An unknown message signs no fields of its own (the exchange refuses it with 4001 after the signature).
  const declared: readonly string[] = isTxMessageType(body.message) ? TX_MESSAGE_FIELDS[body.message].fields : [];
  // Missing fields are signed as empty strings; the core then rejects the message (tx_fields_invalid).
  const messageFields = declared.map((name) => [name, body.fields[name] ?? ''] as const);
  return signedText(`tx.${body.message}`, withSigner(exchangeId, body, [['tx', body.txId], ...messageFields]));
}

export function creditText(exchangeId: string, body: Omit<z.input<typeof creditRequest>, 'signature'>): string {
  return signedText('admin.credit', withSigner(exchangeId, body, [['participant', body.participant], ['amount', body.amountSats]]));
}

export function resolveDisputeText(exchangeId: string, body: Omit<z.input<typeof resolveDisputeRequest>, 'signature'>): string {
  return signedText('arbiter.resolve', withSigner(exchangeId, body, [['tx', body.txId], ['seller_sats', body.sellerSats]]));
}

export function submitEvidenceText(exchangeId: string, body: Omit<z.input<typeof submitEvidenceRequest>, 'signature'>): string {
  return signedText('tx.evidence', withSigner(exchangeId, body, [['tx', body.txId], ['witnesses', body.witnesses.join(',')]]));
}

export function requestDepositAddressText(exchangeId: string, body: Omit<z.input<typeof requestDepositAddressRequest>, 'signature'>): string {
  // The amount line is there only when the request names an amount.
  const amount: SignedFields = body.amountSats === undefined ? [] : [['amount', body.amountSats]];
  return signedText('deposit.address', withSigner(exchangeId, body, amount));
}

export function requestWithdrawalText(exchangeId: string, body: Omit<z.input<typeof requestWithdrawalRequest>, 'signature'>): string {
  return signedText('withdraw.request', withSigner(exchangeId, body, [['key', body.key], ['destination', body.destination], ['amount', body.amountSats]]));
}

export function approveWithdrawalText(exchangeId: string, body: Omit<z.input<typeof approveWithdrawalRequest>, 'signature'>): string {
  return signedText('admin.approve_withdrawal', withSigner(exchangeId, body, [['withdrawal', body.withdrawalId]]));
}

export function failWithdrawalText(exchangeId: string, body: Omit<z.input<typeof failWithdrawalRequest>, 'signature'>): string {
  return signedText('admin.fail_withdrawal', withSigner(exchangeId, body, [['withdrawal', body.withdrawalId], ['reason', body.reason]]));
}

export function refundWithdrawalText(exchangeId: string, body: Omit<z.input<typeof refundWithdrawalRequest>, 'signature'>): string {
  return signedText('admin.refund_withdrawal', withSigner(exchangeId, body, [['withdrawal', body.withdrawalId]]));
}

export function failPayoutBatchText(exchangeId: string, body: Omit<z.input<typeof failPayoutBatchRequest>, 'signature'>): string {
  return signedText('admin.fail_batch', withSigner(exchangeId, body, [['batch', body.batchId], ['reason', body.reason]]));
}

/** The payer signs the batch and the transaction's hash (SHA-256 of its hex), not the whole transaction. */
export function submitPayoutText(exchangeId: string, body: Omit<z.input<typeof submitPayoutRequest>, 'signature'>): string {
  return signedText('payer.submit', withSigner(exchangeId, body, [['batch', body.batchId], ['tx_sha256', sha256Hex(body.rawHex)]]));
}

export function withdrawalPolicyText(exchangeId: string, body: Omit<z.input<typeof withdrawalPolicyRequest>, 'signature'>): string {
  return signedText('admin.withdrawal_policy', withSigner(exchangeId, body, [['daily_limit', body.dailyLimitSats], ['manual_above', body.manualAboveSats], ['new_destination_delay', body.newDestinationDelayMs]]));
}

export function freezeAccountText(exchangeId: string, body: Omit<z.input<typeof accountFreezeRequest>, 'signature'>, frozen: boolean): string {
  return signedText(frozen ? 'arbiter.freeze' : 'arbiter.unfreeze', withSigner(exchangeId, body, [['participant', body.participant]]));
}

export function defineArticleText(exchangeId: string, body: Omit<z.input<typeof defineArticleRequest>, 'signature'>): string {
  const { article } = body;
  return signedText('admin.article', withSigner(exchangeId, body, [
    ['article', article.articleId],
    ['description', article.description],
    ['fee_numerator', article.feeNumerator],
    ['fee_denominator', article.feeDenominator],
    ['price_min', article.priceSatsMin],
    ['price_max', article.priceSatsMax],
    ['bid_lifetime', article.bidLifetimeMs],
  ]));
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
