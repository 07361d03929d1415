// A small protocol used by the transport tests: echo, add, a handler that fails, one that never
// answers, and topic subscriptions with a push.
import { z } from 'zod';
import { defineProtocol } from '../../src/transport/protocol.js';
import { ProtocolError } from '../../src/transport/errors.js';
import type { Handlers } from '../../src/transport/rpc.js';
import { Topics } from '../../src/transport/topics.js';

export const testProtocol = defineProtocol({
  name: 'test',
  requests: {
    echo: { request: z.object({ text: z.string().max(1000) }), response: z.object({ text: z.string() }) },
    add: {
      request: z.object({ a: z.number().int(), b: z.number().int() }),
      response: z.object({ sum: z.number().int() }),
    },
    reject: { request: z.object({}), response: z.object({}) },
    crash: { request: z.object({}), response: z.object({}) },
    never: { request: z.object({}), response: z.object({}) },
    big: { request: z.object({ bytes: z.number().int().min(0).max(4_000_000) }), response: z.object({ data: z.instanceof(Uint8Array) }) },
    subscribe: { request: z.object({ topic: z.string().max(64) }), response: z.object({ subscribed: z.literal(true) }) },
    publish: {
      request: z.object({ topic: z.string().max(64), n: z.number().int() }),
      response: z.object({ delivered: z.number().int() }),
    },
  },
  pushes: {
    tick: z.object({ topic: z.string(), n: z.number().int() }),
  },
});

export type TestProtocol = typeof testProtocol;

export function testHandlers(topics: Topics<TestProtocol> = new Topics()): Handlers<TestProtocol> {
  return {
    echo: ({ text }) => ({ text }),
    add: ({ a, b }) => ({ sum: a + b }),
    reject: () => {
      throw ProtocolError.of('nonce_reused', 'test rejection');
    },
    crash: () => {
      throw new Error('a bug in the handler');
    },
    never: () => new Promise(() => {}),
    big: ({ bytes }) => ({ data: new Uint8Array(bytes) }),
    subscribe: ({ topic }, { peer }) => {
      topics.subscribe(peer, topic);
      return { subscribed: true };
    },
    publish: ({ topic, n }) => ({ delivered: topics.publish(topic, 'tick', { topic, n }) }),
  };
}
