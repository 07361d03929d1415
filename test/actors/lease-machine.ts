// A small machine for the actor-host tests: a lease with a deadline in context, a counter, an
// emitted event, a send to another actor, and an event whose update throws (a planted bug).
import { assign, emit, setup } from 'xstate';
import { fromMachine } from './machine-kind.js';

export type LeaseEvent =
  | { type: 'start'; nowMs: number; ttlMs: number }
  | { type: 'ping' }
  | { type: 'forward'; to: string }
  | { type: 'renew'; nowMs: number; ttlMs: number }
  | { type: 'boom' }
  | { type: 'deadline'; deadlineMs: number };

export const leaseMachine = setup({
  types: {
    context: {} as { pings: number; deadlineMs: number | null; expiredAtMs: number | null },
    events: {} as LeaseEvent,
    input: {} as { pings?: number },
  },
}).createMachine({
  id: 'lease',
  initial: 'idle',
  context: ({ input }) => ({ pings: input.pings ?? 0, deadlineMs: null, expiredAtMs: null }),
  on: {
    ping: { actions: [assign({ pings: ({ context }) => context.pings + 1 }), emit(({ context }) => ({ type: 'pinged', pings: context.pings }))] },
    forward: { actions: emit(({ event }) => ({ type: 'bitwrk.send', to: (event as { to: string }).to, event: { type: 'ping' } })) },
    boom: { actions: assign(() => { throw new Error('planted bug in an update'); }) },
  },
  states: {
    idle: { on: { start: { target: 'active', actions: assign({ deadlineMs: ({ event }) => event.nowMs + event.ttlMs }) } } },
    active: {
      on: {
        renew: { actions: assign({ deadlineMs: ({ event }) => event.nowMs + event.ttlMs }) },
        deadline: { target: 'expired', actions: assign({ expiredAtMs: ({ event }) => event.deadlineMs, deadlineMs: null }) },
      },
    },
    expired: { type: 'final' },
  },
});


export const leaseKind = fromMachine<LeaseEvent, { pings?: number }>(leaseMachine, {
  deadlineMs: (state) => (state.context as { deadlineMs: number | null }).deadlineMs ?? undefined,
  deadlineEvent: (deadlineMs) => ({ type: 'deadline', deadlineMs }),
});
