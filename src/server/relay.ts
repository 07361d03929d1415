// The relay: carries peer connections to sellers that buyers cannot reach directly (behind NAT,
// no open port). It lives on the exchange's port, under /relay (docs/protocol.md §11):
//   /relay/listen            a seller's control connection: `relay.listen`, signed with its key,
//                            makes it the listener for its address; the relay then pushes
//                            `relay.incoming` for every buyer that dials it.
//   /relay/dial/<address>    a buyer's connection to that seller (the seller's `workerurl`).
//   /relay/accept/<id>       the seller's side of one such connection; the id is a random secret
//                            the relay told only the listener.
// Once the two sides are paired the relay copies whole frames both ways without decoding them.
// Buyer and seller authenticate each other end to end (peer.hello/welcome, signed with their
// BitWrk keys), so a relay cannot pose as either; it does see the frames (docs/daemon.md).
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock, TimerId } from '../clock.js';
import { NonceRegistry } from '../crypto/nonce.js';
import { signedText } from '../crypto/signed-text.js';
import { CLOSE_CODES, type Connection } from '../transport/connection.js';
import { ProtocolError } from '../transport/errors.js';
import { defineProtocol, fields } from '../transport/protocol.js';
import { RpcPeer } from '../transport/rpc.js';

export const RELAY_PATH = '/relay';
/** Sellers listening at once. */
export const RELAY_LISTENERS_MAX = 10_000;
/** Buyers waiting for one seller to accept, and connections one seller may have open. */
export const RELAY_PENDING_PER_LISTENER_MAX = 16;
export const RELAY_PIPES_PER_LISTENER_MAX = 64;
/** How long a buyer's connection waits for the seller to accept it. */
export const RELAY_ACCEPT_TIMEOUT_MS = 15_000;
/** Bytes a waiting buyer may send before the seller has accepted (its hello fits easily). */
export const RELAY_EARLY_BYTES_MAX = 64 * 1024;

/** Close codes the relay uses on the buyer's side (docs/protocol.md §5). */
export const RELAY_CLOSE = { notListening: 4010, acceptTimeout: 4011, tooMany: 4012, replaced: 4013 } as const;

const address = z.string().min(26).max(35);

export const relayProtocol = defineProtocol({
  name: 'bitwrk-relay',
  requests: {
    'relay.listen': {
      request: z.object({ address, nonce: z.string().min(1).max(64), signature: fields.bytes(65) }),
      response: z.object({ dialPath: z.string() }),
    },
  },
  pushes: {
    'relay.incoming': z.object({ connectionId: z.string().regex(/^[0-9a-f]{32}$/) }),
  },
});
export type RelayProtocol = typeof relayProtocol;

export function relayListenText(exchangeId: string, listener: string, listenNonce: string): string {
  return signedText('relay.listen', [['exchange', exchangeId], ['address', listener], ['nonce', listenNonce]]);
}

export const dialPath = (listener: string): string => `${RELAY_PATH}/dial/${listener}`;
export const acceptPath = (connectionId: string): string => `${RELAY_PATH}/accept/${connectionId}`;

/** What the relay needs of the exchange: its id and its checks of addresses and signatures. */
export interface RelayAuthority {
  readonly exchangeId: string;
  /** Throws a ProtocolError when `address` is not a participant address of this exchange. */
  checkAddress(address: string): void;
  /** Throws a ProtocolError (signature_invalid) unless `signature` is `address`'s over `text`. */
  verifySignature(text: string, address: string, signature: Uint8Array): Promise<void>;
}

interface Listener {
  readonly address: string;
  readonly peer: RpcPeer<RelayProtocol>;
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
  private readonly waiting = new Map<string, Waiting>();
  private readonly nonces: NonceRegistry;
  private pipes = 0;

  constructor(
    private readonly authority: RelayAuthority,
    private readonly clock: Clock,
  ) {
    this.nonces = new NonceRegistry(clock);
  }

  get stats(): RelayStats {
    return { listeners: this.listeners.size, waiting: this.waiting.size, pipes: this.pipes };
  }

  /** Takes a WebSocket connection that arrived at `path` (under RELAY_PATH). */
  accept(connection: Connection, path: string): void {
    const [, , role, argument] = path.split('/');
    if (path === `${RELAY_PATH}/listen`) return this.listen(connection);
    if (role === 'dial' && argument !== undefined) return this.dial(connection, argument);
    if (role === 'accept' && argument !== undefined) return this.pair(connection, argument);
    connection.close(CLOSE_CODES.malformed, 'no such relay path');
  }

  private listen(connection: Connection): void {
    const peer: RpcPeer<RelayProtocol> = new RpcPeer(connection, relayProtocol, {
      'relay.listen': async (body) => {
        this.authority.checkAddress(body.address);
        const checkNonce = (): void => {
          const verdict = this.nonces.check(body.address, body.nonce);
          if (verdict !== 'ok') throw ProtocolError.of(verdict);
        };
        checkNonce();
        await this.authority.verifySignature(relayListenText(this.authority.exchangeId, body.address, body.nonce), body.address, body.signature);
        checkNonce(); // again: the same listen may have been sent twice while this one was verified
        this.nonces.commit(body.address, body.nonce);
        const known = this.listeners.get(body.address);
        if (known === undefined && this.listeners.size >= RELAY_LISTENERS_MAX) throw ProtocolError.of('too_many_pending', 'the relay has no room for more sellers');
        if (known !== undefined && known.peer !== peer) known.peer.close(RELAY_CLOSE.replaced, 'another connection listens for this address');
        this.listeners.set(body.address, { address: body.address, peer, pending: 0, pipes: 0 });
        return { dialPath: dialPath(body.address) };
      },
    }, { clock: this.clock });
    void peer.closed.then(() => {
      for (const [listening, listener] of this.listeners) if (listener.peer === peer) this.listeners.delete(listening);
    });
  }

  private dial(buyer: Connection, listening: string): void {
    const listener = this.listeners.get(listening);
    if (listener === undefined) return buyer.close(RELAY_CLOSE.notListening, 'that seller is not listening at this relay');
    if (listener.pending >= RELAY_PENDING_PER_LISTENER_MAX || listener.pipes >= RELAY_PIPES_PER_LISTENER_MAX) {
      return buyer.close(RELAY_CLOSE.tooMany, 'that seller has too many connections');
    }
    const connectionId = randomBytes(16).toString('hex');
    const waiting: Waiting = {
      listener,
      buyer,
      early: [],
      earlyBytes: 0,
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
