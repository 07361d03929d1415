// A participant's client of the exchange: signs every command with the participant's key (the
// exact texts of src/protocol/signed-commands.ts), makes fresh nonces, and sends over one RpcPeer
// or a reconnecting client. The daemon trades through it; tests and tools use it too.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Identity } from '../crypto/keys.js';
import { createNonce } from '../crypto/nonce.js';
import { signMessage } from '../crypto/signmessage.js';
import { ProtocolError } from '../transport/errors.js';
import type { RequestBody, RequestType, ResponseBody } from '../transport/protocol.js';
import type { ExchangeProtocol } from '../protocol/exchange.js';
import { approveWithdrawalText, failPayoutBatchText, failWithdrawalText, refundWithdrawalText, submitPayoutText, creditText, defineArticleText, freezeAccountText, placeBidText, requestDepositAddressText, requestWithdrawalText, withdrawalPolicyText, resolveDisputeText, submitEvidenceText, txMessageText, withdrawBidText } from '../protocol/signed-commands.js';
import type { ArticleSpec } from '../market/articles.js';
import type { TxMessageType } from '../market/tx-messages.js';

/** Anything that can send exchange requests: an RpcPeer or a ReconnectingClient. */
export interface ExchangeRequester {
  request<T extends RequestType<ExchangeProtocol>>(type: T, body: RequestBody<ExchangeProtocol, T>, options?: { timeoutMs?: number }): Promise<ResponseBody<ExchangeProtocol, T>>;
}

/** Tries of one signed command the exchange answers server_busy, each after a longer wait. */
const BUSY_ATTEMPTS_MAX = 5;

export class ExchangeClient {
  constructor(
    private readonly requester: ExchangeRequester,
    private readonly identity: Identity,
    private readonly exchangeId: string,
    private readonly clock: Clock,
    private readonly random: (count: number) => Uint8Array = (count) => new Uint8Array(randomBytes(count)),
  ) {}

  get address(): string {
    return this.identity.address;
  }

  private signer(): { address: string; nonce: string } {
    return { address: this.identity.address, nonce: createNonce(this.clock, this.random) };
  }

  private sign(text: string): Uint8Array<ArrayBuffer> {
    return new Uint8Array(Buffer.from(signMessage(text, this.identity.privateKey, { compressed: this.identity.compressed }), 'base64'));
  }

  /** `avoid`: a buy's sellers not to be matched with (none: anyone). */
  placeBid(article: string, side: 'buy' | 'sell', priceSats: number, avoid: readonly string[] = []) {
    const unsigned = { ...this.signer(), article, side, priceSats, ...(avoid.length === 0 ? {} : { avoid: [...avoid] }) };
    return this.send('placeBid', { ...unsigned, signature: this.sign(placeBidText(this.exchangeId, unsigned)) });
  }

  withdrawBid(bidId: string) {
    const unsigned = { ...this.signer(), bidId };
    return this.send('withdrawBid', { ...unsigned, signature: this.sign(withdrawBidText(this.exchangeId, unsigned)) });
  }

  txMessage(txId: string, message: TxMessageType, fields: Record<string, string> = {}) {
    const unsigned = { ...this.signer(), txId, message, fields };
    return this.send('txMessage', { ...unsigned, signature: this.sign(txMessageText(this.exchangeId, unsigned)) });
  }

  /** Admin only: credits `participant` (the exchange checks that this client holds the admin key). */
  credit(participant: string, amountSats: number) {
    const unsigned = { ...this.signer(), participant, amountSats };
    return this.send('credit', { ...unsigned, signature: this.sign(creditText(this.exchangeId, unsigned)) });
  }

  /** Admin only: adds an article to the catalogue (articles never change once defined). */
  defineArticle(article: ArticleSpec) {
    const unsigned = { ...this.signer(), article };
    return this.send('defineArticle', { ...unsigned, signature: this.sign(defineArticleText(this.exchangeId, unsigned)) });
  }

  /** Arbiter only: ends a disputed transaction, `sellerSats` of its price to the seller, the rest refunded. */
  resolveDispute(txId: string, sellerSats: number) {
    const unsigned = { ...this.signer(), txId, sellerSats };
    return this.send('resolveDispute', { ...unsigned, signature: this.sign(resolveDisputeText(this.exchangeId, unsigned)) });
  }

  /** Buyer of `txId` only: ends its dispute by the majority of the witnesses' results for the same work. */
  submitEvidence(txId: string, witnesses: readonly string[]) {
    const unsigned = { ...this.signer(), txId, witnesses: [...witnesses] };
    return this.send('submitEvidence', { ...unsigned, signature: this.sign(submitEvidenceText(this.exchangeId, unsigned)) });
  }

  /** A deposit address for this participant's account (fresh until it holds 3 unpaid ones); `amountSats` only shapes the BIP21 URI. */
  requestDepositAddress(amountSats?: number) {
    const unsigned = { ...this.signer(), ...(amountSats === undefined ? {} : { amountSats }) };
    return this.send('requestDepositAddress', { ...unsigned, signature: this.sign(requestDepositAddressText(this.exchangeId, unsigned)) });
  }

  /** A withdrawal to `destination`; the same `key` with the same body is the same withdrawal (resend safely). */
  requestWithdrawal(key: string, destination: string, amountSats: number) {
    const unsigned = { ...this.signer(), key, destination, amountSats };
    return this.send('requestWithdrawal', { ...unsigned, signature: this.sign(requestWithdrawalText(this.exchangeId, unsigned)) });
  }

  /** Admin only: approves a withdrawal waiting for review. */
  approveWithdrawal(withdrawalId: string) {
    const unsigned = { ...this.signer(), withdrawalId };
    return this.send('approveWithdrawal', { ...unsigned, signature: this.sign(approveWithdrawalText(this.exchangeId, unsigned)) });
  }

  /** Admin only: fails a withdrawal in no batch (its money stays held until refundWithdrawal). */
  failWithdrawal(withdrawalId: string, reason: string) {
    const unsigned = { ...this.signer(), withdrawalId, reason };
    return this.send('failWithdrawal', { ...unsigned, signature: this.sign(failWithdrawalText(this.exchangeId, unsigned)) });
  }

  /** Admin only: gives a failed withdrawal's money back to its participant. */
  refundWithdrawal(withdrawalId: string) {
    const unsigned = { ...this.signer(), withdrawalId };
    return this.send('refundWithdrawal', { ...unsigned, signature: this.sign(refundWithdrawalText(this.exchangeId, unsigned)) });
  }

  /** Admin only: fails a payout batch nobody signed yet, or a conflicted one. */
  failPayoutBatch(batchId: string, reason: string) {
    const unsigned = { ...this.signer(), batchId, reason };
    return this.send('failPayoutBatch', { ...unsigned, signature: this.sign(failPayoutBatchText(this.exchangeId, unsigned)) });
  }

  /** Payer only: the signed transaction of a batch waiting for it. */
  submitPayout(batchId: string, rawHex: string) {
    const unsigned = { ...this.signer(), batchId, rawHex };
    return this.send('submitPayout', { ...unsigned, signature: this.sign(submitPayoutText(this.exchangeId, unsigned)) });
  }

  /** Admin only: the withdrawal rules (daily limit per participant, review threshold, delay for new destinations). */
  setWithdrawalPolicy(policy: { dailyLimitSats: number; manualAboveSats: number; newDestinationDelayMs: number }) {
    const unsigned = { ...this.signer(), ...policy };
    return this.send('setWithdrawalPolicy', { ...unsigned, signature: this.sign(withdrawalPolicyText(this.exchangeId, unsigned)) });
  }

  /** Arbiter only: freezes (`frozen`) or unfreezes an account. */
  setFrozen(participant: string, frozen: boolean) {
    const unsigned = { ...this.signer(), participant };
    return this.send(frozen ? 'freezeAccount' : 'unfreezeAccount', { ...unsigned, signature: this.sign(freezeAccountText(this.exchangeId, unsigned, frozen)) });
  }

  /**
   * Sends a signed command; a server_busy answer (9002: not executed) is waited out as the
   * exchange asks and the same signed bytes sent again, a few times, before it is given up.
   */
  private async send<T extends RequestType<ExchangeProtocol>>(type: T, body: RequestBody<ExchangeProtocol, T>): Promise<ResponseBody<ExchangeProtocol, T>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requester.request(type, body);
      } catch (error) {
        if (!(error instanceof ProtocolError) || error.errorName !== 'server_busy' || attempt >= BUSY_ATTEMPTS_MAX) throw error;
        await new Promise<void>((resolve) => this.clock.setTimer(resolve, (error.retryAfterMs ?? 250) * attempt));
      }
    }
  }

  /** Signs a receipt: the buyer's Bitcoin signature over the hex hash of the encrypted result. */
  signReceipt(encryptedResultHashHex: string): string {
    return signMessage(encryptedResultHashHex, this.identity.privateKey, { compressed: this.identity.compressed });
  }
}
