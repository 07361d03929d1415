// Remote use of an actor host: events addressed to an actor id arrive over the transport, the
// new state goes back as the response, and subscribers get a push after every transition.
// Only kinds that declare `remoteEvents` take events from the network, and only events that
// pass that schema: everything else is refused with a stable code and changes nothing.
import { z } from 'zod';
import { SUBSCRIPTIONS_MAX } from '../limits.js';
import type { Clock } from '../clock.js';
import type { Connection } from '../transport/connection.js';
import { describeIssues } from '../transport/codec.js';
import { ProtocolError } from '../transport/errors.js';
import { defineProtocol } from '../transport/protocol.js';
import { RpcPeer, type RpcPeerOptions } from '../transport/rpc.js';
import type { ActorHost } from './host.js';

const actorId = z.string().min(1).max(128);
const eventSchema = z.looseObject({ type: z.string().min(1).max(64) });
const stateSchema = z.object({ id: actorId, value: z.unknown(), context: z.unknown() });

export const actorProtocol = defineProtocol({
  name: 'actors',
  requests: {
    'actor.send': { request: z.object({ id: actorId, event: eventSchema }), response: stateSchema },
    'actor.get': { request: z.object({ id: actorId }), response: stateSchema },
    'actor.subscribe': { request: z.object({ id: actorId }), response: stateSchema },
    'actor.unsubscribe': { request: z.object({ id: actorId }), response: z.object({}) },
  },
  pushes: {
    'actor.state': z.object({ id: actorId, value: z.unknown(), context: z.unknown(), emitted: z.array(eventSchema) }),
  },
});

export type ActorProtocol = typeof actorProtocol;

function stateOf(host: ActorHost, id: string): { id: string; value: unknown; context: unknown } {
  const state = host.get(id);
  if (state === undefined) throw ProtocolError.of('actor_unknown', `"${id}"`);
  return { id, value: state.value, context: state.context };
}

/** Serves `host` on one connection; returns the peer. */
export function serveActorHost(host: ActorHost, connection: Connection, options: Omit<RpcPeerOptions, 'clock'> & { clock: Clock }): RpcPeer<ActorProtocol> {
  const subscriptions = new Map<string, () => void>();
  const peer: RpcPeer<ActorProtocol> = new RpcPeer(connection, actorProtocol, {
    'actor.send': ({ id, event }) => {
      const kind = host.kindOf(id);
      if (kind === undefined) throw ProtocolError.of('actor_unknown', `"${id}"`);
      if (kind.remoteEvents === undefined) throw ProtocolError.of('event_not_accepted', `${kind.name} takes no network events`);
      const checked = kind.remoteEvents.safeParse(event);
      if (!checked.success) throw ProtocolError.of('event_not_accepted', describeIssues(checked.error));
      const result = host.send(id, checked.data);
      if (!result.ok) throw ProtocolError.of(result.error === 'unknown_actor' ? 'actor_unknown' : result.error, result.detail);
      return stateOf(host, id);
    },
    'actor.get': ({ id }) => stateOf(host, id),
    'actor.subscribe': ({ id }) => {
      const state = stateOf(host, id);
      if (subscriptions.has(id)) return state;
      if (subscriptions.size >= SUBSCRIPTIONS_MAX) throw ProtocolError.of('too_many_subscriptions', `limit is ${SUBSCRIPTIONS_MAX}`);
      subscriptions.set(id, host.subscribe(id, (persisted, emitted) => {
        peer.push('actor.state', { id, value: persisted.value, context: persisted.context, emitted: emitted.map((event) => ({ ...event })) });
      }));
      return state;
    },
    'actor.unsubscribe': ({ id }) => {
      subscriptions.get(id)?.();
      subscriptions.delete(id);
      return {};
    },
  }, options);
  void peer.closed.then(() => {
    for (const unsubscribe of subscriptions.values()) unsubscribe();
    subscriptions.clear();
  });
  return peer;
}
