// The protocol between a buyer's daemon and a seller's daemon, over one encrypted link
// (src/daemon/peer-link.ts: a WebSocket, direct or through the exchange's relay, under Noise XX).
// MessagePack RPC as everywhere (docs/protocol.md §1-4); the CAFS sync requests move the work
// (buyer → seller) and the encrypted result (seller → buyer, the seller then being the one who asks).
//   1. peer.hello: the buyer proves it is the transaction's buyer by signing the link's handshake
//      hash; the seller answers with its own signature over the same hash and the buyer's nonce:
//      both sides are authenticated by their BitWrk keys on this very channel, not by IP or URL.
//   2. cafs.offer/chunks/done (transferId = "work:<txId>"): the work.
//   3. peer.secret: the buyer secret; the seller checks it against the published hash.
//   4. peer.result: waits for the worker; the seller first sends the encrypted result with CAFS
//      (transferId = "result:<txId>"), then answers with its key (hash) and size.
//   5. peer.receipt: the buyer's signature over that hash; the seller publishes it with the
//      decryption key on the exchange and answers with the key too.
import { z } from 'zod';
import { cafsProtocol } from '../cafs/sync.js';
import { signedText } from '../crypto/signed-text.js';
import { defineProtocol, fields } from '../transport/protocol.js';

const txId = z.string().min(1).max(32);
const address = z.string().min(26).max(35);
const hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const nonce = z.string().min(1).max(64);

/** How long a buyer waits for the seller's worker (the exchange's WORKING grant is 5 min). */
export const PEER_RESULT_TIMEOUT_MS = 6 * 60_000;

export const peerProtocol = defineProtocol({
  name: 'bitwrk-peer',
  requests: {
    ...cafsProtocol.requests,
    'peer.hello': {
      request: z.object({ txId, buyer: address, nonce, signature: fields.bytes(65) }),
      response: z.object({ seller: address, signature: fields.bytes(65) }),
    },
    'peer.secret': { request: z.object({ txId, buyerSecret: hex32 }), response: z.object({ txId }) },
    'peer.result': { request: z.object({ txId }), response: z.object({ encryptedFileKey: hex32, size: fields.nonNegativeInteger() }) },
    'peer.receipt': { request: z.object({ txId, signature: z.string().length(88) }), response: z.object({ resultKey: hex32 }) },
    /** The buyer gives the purchase up before its result: the seller stops its worker and rejects the work (the buyer is refunded). */
    'peer.cancel': { request: z.object({ txId, reason: z.string().max(200) }), response: z.object({ txId }) },
  },
  pushes: {},
});

export type PeerProtocol = typeof peerProtocol;

export const workTransferId = (txId: string): string => `work:${txId}`;
export const resultTransferId = (txId: string): string => `result:${txId}`;

/** What a hello and a welcome sign: the transaction, the signer, the buyer's nonce and the link's handshake hash (hex). */
export interface HelloFields {
  readonly exchangeId: string;
  readonly txId: string;
  readonly nonce: string;
  readonly handshake: string;
}

export function helloText(hello: HelloFields & { readonly buyer: string }): string {
  return signedText('peer.hello', [['exchange', hello.exchangeId], ['txid', hello.txId], ['buyer', hello.buyer], ['nonce', hello.nonce], ['handshake', hello.handshake]]);
}

export function welcomeText(welcome: HelloFields & { readonly seller: string }): string {
  return signedText('peer.welcome', [['exchange', welcome.exchangeId], ['txid', welcome.txId], ['seller', welcome.seller], ['nonce', welcome.nonce], ['handshake', welcome.handshake]]);
}
