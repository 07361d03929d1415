// The daemon-to-daemon link under the peer protocol: a WebSocket (straight to the seller's peer
// endpoint, or a signed dial through the exchange's relay), encrypted and authenticated with
// Noise XX (src/transport/secure-connection.ts). The peer protocol's first exchange, peer.hello
// and its welcome, then signs the Noise handshake hash with each side's BitWrk key, binding both
// identities to this very channel: a relay or a man in the middle has different handshake hashes
// on its two sides, so neither signature would verify there.
import type { Clock } from '../clock.js';
import { toHex } from '../crypto/check.js';
import type { Identity } from '../crypto/keys.js';
import { createNonce } from '../crypto/nonce.js';
import { signMessage } from '../crypto/signmessage.js';
import { dialQuery, relayDialText, RELAY_PATH } from '../protocol/relay.js';
import type { Connection } from '../transport/connection.js';
import { SECURE_FRAME_BYTES_MAX, secureInitiator, secureResponder, type SecureSession, type StaticKeyPair } from '../transport/secure-connection.js';
import { connectWebSocket } from '../transport/ws-client.js';

/** Mixed into every handshake: a different protocol or version never completes one. */
export const PEER_PROLOGUE = new TextEncoder().encode('bitwrk-peer/1');

export interface PeerDial {
  readonly workerUrl: string;
  readonly txId: string;
  /** The transaction's seller, as the exchange says (a relay dial names it and signs it). */
  readonly seller: string;
  readonly exchangeId: string;
  readonly identity: Identity;
  readonly staticKeyPair: StaticKeyPair;
  readonly clock: Clock;
  readonly random: (count: number) => Uint8Array;
}

/** The buyer's side: connects to the seller's `workerurl` and runs the handshake as initiator. */
export async function dialPeer(dial: PeerDial): Promise<SecureSession> {
  const connection = await connectWebSocket(signedDialUrl(dial), { clock: dial.clock, frameBytesMax: SECURE_FRAME_BYTES_MAX });
  return secureInitiator(connection, { clock: dial.clock, prologue: PEER_PROLOGUE, staticKeyPair: dial.staticKeyPair });
}

/** The seller's side: a buyer's connection (direct or relayed) runs the handshake as responder. */
export function acceptPeer(connection: Connection, options: { clock: Clock; staticKeyPair: StaticKeyPair }): Promise<SecureSession> {
  return secureResponder(connection, { clock: options.clock, prologue: PEER_PROLOGUE, staticKeyPair: options.staticKeyPair });
}

/** The handshake hash as signed in peer.hello and its welcome. */
export function handshakeText(session: Pick<SecureSession, 'handshakeHash'>): string {
  return toHex(session.handshakeHash);
}

/** A relay dial URL gets the buyer's signed dial as its query; a direct URL is used as it is. */
function signedDialUrl(dial: PeerDial): string {
  const url = new URL(dial.workerUrl);
  if (!url.pathname.startsWith(`${RELAY_PATH}/dial/`)) return dial.workerUrl;
  const nonce = createNonce(dial.clock, dial.random);
  const text = relayDialText(dial.exchangeId, { txId: dial.txId, buyer: dial.identity.address, seller: dial.seller, nonce });
  const signature = new Uint8Array(Buffer.from(signMessage(text, dial.identity.privateKey, { compressed: dial.identity.compressed }), 'base64'));
  url.search = dialQuery({ txId: dial.txId, buyer: dial.identity.address, nonce, signature });
  return url.toString();
}
