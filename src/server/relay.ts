// The relay: carries peer connections to sellers that buyers cannot reach directly (behind NAT,
// no open port). It lives on the exchange's port, under /relay (docs/protocol.md §11):
//   /relay/listen            a seller's control connection: `relay.challenge`, then
//                            `relay.listen` signed with its key over that challenge (so a listen
//                            is bound to this connection of this exchange process and cannot be
//                            replayed), makes it the listener for its address; the relay then
//                            pushes `relay.incoming` for every buyer that dials it.
//   /relay/dial/<address>?tx=&buyer=&nonce=&signature=
//                            a buyer's connection to that seller (the seller's `workerurl` plus
//                            the query): the buyer signs the dial, and only the buyer of an active
//                            transaction with that seller gets through, so nobody can hold a
//                            seller's few waiting slots with dials of their own.
//   /relay/accept/<id>       the seller's side of one such connection; the id is a random secret
//                            the relay told only the listener.
// Once the two sides are paired the relay copies whole frames both ways without decoding them.
// The daemons encrypt and authenticate their link end to end (Noise, then signatures over the
// handshake), so the relay sees only ciphertext and cannot pose as either side.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock, TimerId } from '../clock.js';
import { maybe } from '../assert.js';
import { NonceRegistry } from '../crypto/nonce.js';
import { CLOSE_CODES, type Connection } from '../transport/connection.js';
import { ProtocolError } from '../transport/errors.js';
import { RpcPeer } from '../transport/rpc.js';
import { acceptPath, dialPath, RELAY_CLOSE, RELAY_PATH, relayDialText, relayListenText, relayProtocol, type RelayProtocol } from '../protocol/relay.js';

/** Sellers listening at once, and listeners one remote IP address may hold. */
export const RELAY_LISTENERS_MAX = 10_000;
export const RELAY_LISTENERS_PER_ADDRESS_MAX = 16;
/** A listener whose address has no open bid and no active transaction is let go after this. */
export const RELAY_IDLE_LISTENER_MS = 10 * 60_000;
/** When the relay is full, this many of the oldest listeners are looked at for an idle one to let go. */
const RELAY_EVICTION_CANDIDATES_MAX = 64;
/** Buyers waiting for one seller to accept, and connections one seller may have open. */
export const RELAY_PENDING_PER_LISTENER_MAX = 16;
export const RELAY_PIPES_PER_LISTENER_MAX = 64;
/** How long a buyer's connection waits for the seller to accept it. */
export const RELAY_ACCEPT_TIMEOUT_MS = 15_000;
/** Bytes a waiting buyer may send before the seller has accepted (its handshake fits easily). */
export const RELAY_EARLY_BYTES_MAX = 64 * 1024;

/** What the relay needs of the exchange: its id, its checks, and what it knows of transactions. */
export interface RelayAuthority {
  readonly exchangeId: string;
  /** Throws a ProtocolError when `address` is not a participant address of this exchange. */
  checkAddress(address: string): void;
  /** Throws a ProtocolError (signature_invalid) unless `signature` is `address`'s over `text`. */
  verifySignature(text: string, address: string, signature: Uint8Array): Promise<void>;
  /** The parties of an active transaction, or undefined. */
  transactionParties(txId: string): { readonly buyer: string; readonly seller: string } | undefined;
  /** Whether the address has an open bid or an active transaction. */
  isActive(address: string): boolean;
}

interface Listener {
  readonly address: string;
  readonly remoteHost: string;
  readonly peer: RpcPeer<RelayProtocol>;
  readonly sinceMs: number;
  pending: number;
  pipes: number;
}

interface Waiting {
  readonly listener: Listener;
  readonly buyer: Connection;
  readonly early: Uint8Array[];
  earlyBytes: number;
  readonly timer: TimerId;
}

export interface RelayStats {
  readonly listeners: number;
  readonly waiting: number;
  readonly pipes: number;
}

export class Relay {
  private readonly listeners = new Map<string, Listener>();
  private readonly listenersByHost = new Map<string, number>();
  private readonly waiting = new Map<string, Waiting>();
  /** Dial nonces (each dial is signed once); bounded: only verified dials of real buyers are kept. */
  private readonly nonces: NonceRegistry;
  private pipes = 0;
  private sweepTimer: TimerId | undefined;
  private closed = false;

  constructor(
    private readonly authority: RelayAuthority,
    private readonly clock: Clock,
  ) {
    this.nonces = new NonceRegistry(clock);
    this.scheduleSweep();
  }

  get stats(): RelayStats {
    return { listeners: this.listeners.size, waiting: this.waiting.size, pipes: this.pipes };
  }

  /** Takes a WebSocket connection that arrived at `path` (under RELAY_PATH) with its query. */
  accept(connection: Connection, path: string, query: URLSearchParams = new URLSearchParams()): void {
    const [, , role, argument] = path.split('/');
    if (path === `${RELAY_PATH}/listen`) return this.listen(connection);
    if (role === 'dial' && argument !== undefined) {
      this.dial(connection, argument, query).catch((error: unknown) => connection.close(CLOSE_CODES.internalError, `the dial failed: ${(error as Error).message}`.slice(0, 120)));
      return;
    }
    if (role === 'accept' && argument !== undefined) return this.pair(connection, argument);
    connection.close(CLOSE_CODES.malformed, 'no such relay path');
  }

  /** Stops the idle sweep (the endpoint closes the connections). */
  close(): void {
    this.closed = true;
    if (this.sweepTimer !== undefined) this.clock.clearTimer(this.sweepTimer);
  }

  private listen(connection: Connection): void {
    let challenge: string | undefined;
    const remoteHost = hostOf(connection.remoteAddress);
    const peer: RpcPeer<RelayProtocol> = new RpcPeer(connection, relayProtocol, {
      'relay.challenge': () => {
        challenge ??= randomBytes(16).toString('hex');
        return { challenge };
      },
      'relay.listen': async (body) => {
        // Test errors by descending precedence: order, address, signature, room.
        if (challenge === undefined) throw ProtocolError.of('invalid_body', 'ask relay.challenge first on this connection');
        this.authority.checkAddress(body.address);
        await this.authority.verifySignature(relayListenText(this.authority.exchangeId, body.address, challenge), body.address, body.signature);
        const known = this.listeners.get(body.address);
        if (known === undefined || known.peer !== peer) this.makeRoom(remoteHost, body.address);
        if (known !== undefined && known.peer !== peer) this.drop(known, RELAY_CLOSE.replaced, 'another connection listens for this address');
        if (known === undefined || known.peer !== peer) {
          this.listeners.set(body.address, { address: body.address, remoteHost, peer, sinceMs: this.clock.now(), pending: 0, pipes: 0 });
          this.listenersByHost.set(remoteHost, (this.listenersByHost.get(remoteHost) ?? 0) + 1);
        }
        return { dialPath: dialPath(body.address) };
      },
    }, { clock: this.clock });
    void peer.closed.then(() => {
      for (const listener of this.listeners.values()) if (listener.peer === peer) this.forget(listener);
    });
  }

  /** Refuses a listen past the limits, after letting an idle listener go when the relay is full. */
  private makeRoom(remoteHost: string, address: string): void {
    if ((this.listenersByHost.get(remoteHost) ?? 0) >= RELAY_LISTENERS_PER_ADDRESS_MAX) {
      throw ProtocolError.of('server_busy', `${remoteHost} holds ${RELAY_LISTENERS_PER_ADDRESS_MAX} listeners already`, RELAY_IDLE_LISTENER_MS);
    }
    if (this.listeners.size < RELAY_LISTENERS_MAX) return;
    let looked = 0;
    for (const listener of this.listeners.values()) {
      if (looked++ >= RELAY_EVICTION_CANDIDATES_MAX) break;
      if (listener.pipes === 0 && listener.pending === 0 && !this.authority.isActive(listener.address)) {
        return this.drop(listener, RELAY_CLOSE.idle, 'the relay is full and this seller trades nothing');
      }
    }
    maybe(this.authority.isActive(address));
    throw ProtocolError.of('server_busy', 'the relay has no room for more sellers', 60_000);
  }

  private drop(listener: Listener, code: number, reason: string): void {
    this.forget(listener);
    listener.peer.close(code, reason);
  }

  private forget(listener: Listener): void {
    if (this.listeners.get(listener.address) !== listener) return;
    this.listeners.delete(listener.address);
    const left = (this.listenersByHost.get(listener.remoteHost) ?? 1) - 1;
    if (left === 0) this.listenersByHost.delete(listener.remoteHost);
    else this.listenersByHost.set(listener.remoteHost, left);
  }

  /** Every minute: listeners that have traded nothing for RELAY_IDLE_LISTENER_MS are let go. */
  private scheduleSweep(): void {
    if (this.closed) return;
    this.sweepTimer = this.clock.setTimer(() => {
      const nowMs = this.clock.now();
      for (const listener of [...this.listeners.values()]) {
        if (nowMs - listener.sinceMs < RELAY_IDLE_LISTENER_MS || listener.pipes > 0 || listener.pending > 0) continue;
        if (!this.authority.isActive(listener.address)) this.drop(listener, RELAY_CLOSE.idle, `no bid and no transaction for ${RELAY_IDLE_LISTENER_MS / 60_000} minutes`);
      }
      this.scheduleSweep();
    }, 60_000);
  }

  /** A buyer's dial: checked (signed by the buyer of an active transaction with this seller), then announced. */
  private async dial(buyer: Connection, listening: string, query: URLSearchParams): Promise<void> {
    // Frames the buyer sends meanwhile are held (its handshake), within a small budget.
    const early: Uint8Array[] = [];
    let earlyBytes = 0;
    let gone = false;
    buyer.setHandlers({
      frame: (frame) => {
        earlyBytes += frame.byteLength;
        if (earlyBytes > RELAY_EARLY_BYTES_MAX) return buyer.close(CLOSE_CODES.malformed, 'too much sent before the seller accepted');
        early.push(frame);
      },
      close: () => (gone = true),
    });
    if (!this.listeners.has(listening)) return buyer.close(RELAY_CLOSE.notListening, 'that seller is not listening at this relay');
    const refusal = await this.checkDial(listening, query);
    if (gone) return;
    if (refusal !== undefined) return buyer.close(RELAY_CLOSE.dialRefused, refusal.slice(0, 120));
    const listener = this.listeners.get(listening);
    if (listener === undefined) return buyer.close(RELAY_CLOSE.notListening, 'that seller is not listening at this relay');
    if (listener.pending >= RELAY_PENDING_PER_LISTENER_MAX || listener.pipes >= RELAY_PIPES_PER_LISTENER_MAX) {
      return buyer.close(RELAY_CLOSE.tooMany, 'that seller has too many connections');
    }
    const connectionId = randomBytes(16).toString('hex');
    const waiting: Waiting = {
      listener,
      buyer,
      early,
      earlyBytes,
      timer: this.clock.setTimer(() => this.giveUp(connectionId, RELAY_CLOSE.acceptTimeout, 'the seller did not accept in time'), RELAY_ACCEPT_TIMEOUT_MS),
    };
    buyer.setHandlers({
      frame: (frame) => {
        waiting.earlyBytes += frame.byteLength;
        if (waiting.earlyBytes > RELAY_EARLY_BYTES_MAX) return this.giveUp(connectionId, CLOSE_CODES.malformed, 'too much sent before the seller accepted');
        waiting.early.push(frame);
      },
      close: () => this.giveUp(connectionId, CLOSE_CODES.normal, 'buyer left'),
    });
    this.waiting.set(connectionId, waiting);
    listener.pending++;
    if (!listener.peer.push('relay.incoming', { connectionId })) this.giveUp(connectionId, RELAY_CLOSE.notListening, 'that seller is gone');
  }

  /** Why a dial is refused (in this order: its fields, nonce, signature, the transaction), or undefined. */
  private async checkDial(seller: string, query: URLSearchParams): Promise<string | undefined> {
    const txId = query.get('tx') ?? '';
    const buyer = query.get('buyer') ?? '';
    const nonce = query.get('nonce') ?? '';
    const signature = Buffer.from(query.get('signature') ?? '', 'base64url');
    if (txId.length === 0 || txId.length > 32 || signature.length !== 65) return 'a dial carries tx, buyer, nonce and a 65-byte signature';
    try {
      this.authority.checkAddress(buyer);
      const verdict = this.nonces.check(buyer, nonce);
      if (verdict !== 'ok') return verdict;
      await this.authority.verifySignature(relayDialText(this.authority.exchangeId, { txId, buyer, seller, nonce }), buyer, signature);
    } catch (error) {
      if (error instanceof ProtocolError) return `${error.errorName}: ${error.message}`;
      throw error;
    }
    const parties = this.authority.transactionParties(txId);
    if (parties === undefined || parties.buyer !== buyer || parties.seller !== seller) return `${buyer} buys from ${seller} in no active transaction ${txId}`;
    if (this.nonces.check(buyer, nonce) !== 'ok') return 'nonce_reused'; // the same dial twice at once
    this.nonces.commit(buyer, nonce);
    return undefined;
  }

  /** Ends a waiting buyer connection that was never paired. */
  private giveUp(connectionId: string, code: number, reason: string): void {
    const waiting = this.waiting.get(connectionId);
    if (waiting === undefined) return;
    this.settle(connectionId, waiting);
    waiting.buyer.close(code, reason);
  }

  private settle(connectionId: string, waiting: Waiting): void {
    this.waiting.delete(connectionId);
    this.clock.clearTimer(waiting.timer);
    waiting.listener.pending--;
  }

  private pair(seller: Connection, connectionId: string): void {
    const waiting = this.waiting.get(connectionId);
    if (waiting === undefined) return seller.close(CLOSE_CODES.malformed, 'no buyer waits under that id');
    this.settle(connectionId, waiting);
    const { buyer, listener } = waiting;
    listener.pipes++;
    this.pipes++;
    let open = true;
    const end = (other: Connection, code: number, reason: string): void => {
      if (!open) return;
      open = false;
      listener.pipes--;
      this.pipes--;
      other.close(code >= 4000 || code === CLOSE_CODES.normal || code === CLOSE_CODES.goingAway ? code : CLOSE_CODES.normal, reason);
    };
    // A frame the other side cannot queue closes that side (slow consumer), which ends the pipe.
    buyer.setHandlers({ frame: (frame) => void seller.send(frame), close: (code, reason) => end(seller, code, reason) });
    seller.setHandlers({ frame: (frame) => void buyer.send(frame), close: (code, reason) => end(buyer, code, reason) });
    for (const frame of waiting.early) seller.send(frame);
  }
}

/** The host part of "host:port" (IPv6 in brackets or not). */
function hostOf(remoteAddress: string): string {
  const colon = remoteAddress.lastIndexOf(':');
  return colon < 0 ? remoteAddress : remoteAddress.slice(0, colon);
}
