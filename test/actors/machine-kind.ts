// Makes an actor kind of an XState machine, driven through XState's pure `transition()`: the
// host never starts an XState actor, so XState's scheduler (which reads Date.now()) never runs.
// Deadlines are absolute times in context, not `after` timers (XState does not re-arm those on
// restore); the kind names how to read them. Emitted events become `emit` effects, except
// `{ type: 'bitwrk.send', to, event }`, which becomes a `send` to another actor; custom actions
// with implementations become `run` effects.
import { initialTransition, transition, type AnyStateMachine } from 'xstate';
import type { ActorKind, Effect, EventObject, PersistedState, Step } from '../../src/actors/kind.js';

export interface MachineKindOptions<E extends EventObject> {
  readonly name?: string;
  readonly deadlineMs?: (persisted: PersistedState) => number | undefined;
  readonly deadlineEvent?: (deadlineMs: number) => E;
}

type Snapshot = ReturnType<AnyStateMachine['resolveState']>;

interface ExecutableAction {
  readonly type: string;
  readonly params?: unknown;
  readonly info?: unknown;
  readonly exec?: ((info: unknown, params: unknown) => void) | undefined;
}

function effectsOf(actions: readonly ExecutableAction[]): Effect[] {
  const effects: Effect[] = [];
  for (const action of actions) {
    if (action.type === 'xstate.emit') {
      const event = (action.params as { event: EventObject & { to?: string; event?: EventObject } }).event;
      if (event.type === 'bitwrk.send' && typeof event.to === 'string' && event.event !== undefined) {
        effects.push({ type: 'send', to: event.to, event: event.event });
      } else {
        effects.push({ type: 'emit', event });
      }
    } else if (typeof action.exec === 'function') {
      const exec = action.exec;
      effects.push({ type: 'run', name: action.type, run: () => exec(action.info, action.params) });
    }
  }
  return effects;
}

export function fromMachine<E extends EventObject = EventObject, I = unknown>(
  machine: AnyStateMachine,
  options: MachineKindOptions<E> = {},
): ActorKind<Snapshot, E, I> {
  const persist = (snapshot: Snapshot): PersistedState => ({ value: snapshot.value, context: snapshot.context });
  const kind: ActorKind<Snapshot, E, I> = {
    name: options.name ?? machine.id,
    initial(input: I): Step<Snapshot> {
      const [snapshot, actions] = initialTransition(machine, input as never);
      return { state: snapshot, effects: effectsOf(actions as readonly ExecutableAction[]) };
    },
    step(snapshot: Snapshot, event: E): Step<Snapshot> {
      const [next, actions] = transition(machine, snapshot, event as never);
      return { state: next, effects: effectsOf(actions as readonly ExecutableAction[]) };
    },
    persist,
    restore: (persisted: PersistedState) => machine.resolveState(persisted as never),
    isFinal: (snapshot: Snapshot) => snapshot.status === 'done',
  };
  const deadlineMs = options.deadlineMs;
  const deadlineEvent = options.deadlineEvent;
  if (deadlineMs === undefined || deadlineEvent === undefined) return kind;
  return { ...kind, deadlineMs: (snapshot) => deadlineMs(persist(snapshot)), deadlineEvent };
}
