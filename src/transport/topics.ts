// Server push by subscription: peers subscribe to topics; a publish encodes the push once and
// sends the same frame to every subscriber. A peer's subscriptions end when it disconnects.
import { SUBSCRIPTIONS_MAX } from '../limits.js';
import { ProtocolError } from './errors.js';
import type { ProtocolDefinition, PushBody, PushType } from './protocol.js';
import { encodePush, type RpcPeer } from './rpc.js';

export class Topics<P extends ProtocolDefinition> {
  private readonly subscribers = new Map<string, Set<RpcPeer<P>>>();
  private readonly topicsOfPeer = new Map<RpcPeer<P>, Set<string>>();

  constructor(private readonly subscriptionsPerPeerMax: number = SUBSCRIPTIONS_MAX) {}

  /** Subscribes; throws ProtocolError too_many_subscriptions past the per-peer limit. */
  subscribe(peer: RpcPeer<P>, topic: string): void {
    let topics = this.topicsOfPeer.get(peer);
    if (topics === undefined) {
      if (!peer.isOpen) return;
      this.topicsOfPeer.set(peer, (topics = new Set()));
      void peer.closed.then(() => this.removePeer(peer));
    }
    if (topics.has(topic)) return;
    if (topics.size >= this.subscriptionsPerPeerMax) {
      throw ProtocolError.of('too_many_subscriptions', `limit is ${this.subscriptionsPerPeerMax}`);
    }
    topics.add(topic);
    let peers = this.subscribers.get(topic);
    if (peers === undefined) this.subscribers.set(topic, (peers = new Set()));
    peers.add(peer);
  }

  unsubscribe(peer: RpcPeer<P>, topic: string): void {
    this.topicsOfPeer.get(peer)?.delete(topic);
    const peers = this.subscribers.get(topic);
    if (peers === undefined) return;
    peers.delete(peer);
    if (peers.size === 0) this.subscribers.delete(topic);
  }

  /** Sends a push to every subscriber of `topic`; returns how many it was sent to. */
  publish<T extends PushType<P>>(topic: string, type: T, body: PushBody<P, T>): number {
    const peers = this.subscribers.get(topic);
    if (peers === undefined) return 0;
    const frame = encodePush(type, body);
    let sent = 0;
    for (const peer of peers) if (peer.sendFrame(frame)) sent += 1;
    return sent;
  }

  subscriberCount(topic: string): number {
    return this.subscribers.get(topic)?.size ?? 0;
  }

  private removePeer(peer: RpcPeer<P>): void {
    for (const topic of this.topicsOfPeer.get(peer) ?? []) this.unsubscribe(peer, topic);
    this.topicsOfPeer.delete(peer);
  }
}
