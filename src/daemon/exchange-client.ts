// A participant's client of the exchange: signs every command with the participant's key (the
// exact texts of src/server/signed-commands.ts), makes fresh nonces, and sends over one RpcPeer
// or a reconnecting client. The daemon trades through it; tests and tools use it too.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Identity } from '../crypto/keys.js';
import { createNonce } from '../crypto/nonce.js';
import { signMessage } from '../crypto/signmessage.js';
import type { RequestBody, RequestType, ResponseBody } from '../transport/protocol.js';
import type { ExchangeProtocol } from '../server/protocol.js';
import { creditText, defineArticleText, placeBidText, txMessageText, withdrawBidText } from '../server/signed-commands.js';
import type { ArticleSpec } from '../market/articles.js';
import type { TxMessageType } from '../market/tx-messages.js';

/** Anything that can send exchange requests: an RpcPeer or a ReconnectingClient. */
export interface ExchangeRequester {
  request<T extends RequestType<ExchangeProtocol>>(type: T, body: RequestBody<ExchangeProtocol, T>, options?: { timeoutMs?: number }): Promise<ResponseBody<ExchangeProtocol, T>>;
}

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

  placeBid(article: string, side: 'buy' | 'sell', priceSats: number) {
    const unsigned = { ...this.signer(), article, side, priceSats };
    return this.requester.request('placeBid', { ...unsigned, signature: this.sign(placeBidText(this.exchangeId, unsigned)) });
  }

  withdrawBid(bidId: string) {
    const unsigned = { ...this.signer(), bidId };
    return this.requester.request('withdrawBid', { ...unsigned, signature: this.sign(withdrawBidText(this.exchangeId, unsigned)) });
  }

  txMessage(txId: string, message: TxMessageType, fields: Record<string, string> = {}) {
    const unsigned = { ...this.signer(), txId, message, fields };
    return this.requester.request('txMessage', { ...unsigned, signature: this.sign(txMessageText(this.exchangeId, unsigned)) });
  }

  /** Admin only: credits `participant` (the exchange checks that this client holds the admin key). */
  credit(participant: string, amountSats: number) {
    const unsigned = { ...this.signer(), participant, amountSats };
    return this.requester.request('credit', { ...unsigned, signature: this.sign(creditText(this.exchangeId, unsigned)) });
  }

  /** Admin only: adds an article to the catalogue (articles never change once defined). */
  defineArticle(article: ArticleSpec) {
    const unsigned = { ...this.signer(), article };
    return this.requester.request('defineArticle', { ...unsigned, signature: this.sign(defineArticleText(this.exchangeId, unsigned)) });
  }

  /** Signs a receipt: the buyer's Bitcoin signature over the hex hash of the encrypted result. */
  signReceipt(encryptedResultHashHex: string): string {
    return signMessage(encryptedResultHashHex, this.identity.privateKey, { compressed: this.identity.compressed });
  }
}
