// One definition, two ways to run it. A flat machine (states without children, named guards and
// named context updates, no timers, no actors) is written once as a spec; `defineFlatMachine`
// turns it into a real XState machine (for the visualiser, live actors in the daemon and UI, and
// XState's pure `transition()`), and into a compiled stepper that applies the very same guard
// and update functions with XState's semantics but without XState's per-call cost.
//
// Why two: xstate's `transition(machine, snapshot, event)` builds a throwaway actor and system on
// every call (~20 µs here); the market core steps machines several times per bid, and the matching
// goal (docs/market-rules.md, "Machines") needs a few µs per bid in all. The compiled stepper is
// checked against XState by test/machines/flat-machine.test.ts, and the core can run on either
// (`stepper: 'xstate'`), which the model-based tests compare by state hash.
//
// XState semantics kept by the compiled stepper (v5.33): the first candidate whose guard passes
// is taken; guards see the context before the transition; transition actions run in order, then
// the target's entry actions; each update returns the whole next context, which XState's
// `assign` merges over the old one (`Object.assign({}, context, next)`: the same plain data);
// a final state ignores every event; an unhandled event leaves the snapshot unchanged.
import { assign, createMachine, initialTransition, transition } from 'xstate';
import type { AnyStateMachine } from 'xstate';
import { assert } from '../assert.js';

/** The small, plain snapshot the core stores: a state name and a plain context. */
export interface MachineState<TValue extends string, TContext> {
  readonly value: TValue;
  readonly context: TContext;
}

export interface EventObject {
  readonly type: string;
}

export interface TransitionSpec<TValue extends string, TGuard extends string, TUpdate extends string> {
  /** Omitted: stay in the state (a targetless transition; entry actions do not run). */
  readonly target?: TValue;
  readonly guard?: TGuard;
  readonly actions?: readonly TUpdate[];
}

export interface StateSpec<TValue extends string, TEvent extends EventObject, TGuard extends string, TUpdate extends string> {
  readonly final?: true;
  readonly entry?: readonly TUpdate[];
  readonly on?: { readonly [K in TEvent['type']]?: readonly TransitionSpec<TValue, TGuard, TUpdate>[] };
}

export interface FlatMachineSpec<
  TValue extends string,
  TContext extends object,
  TEvent extends EventObject,
  TInput,
  TGuard extends string,
  TUpdate extends string,
> {
  readonly id: string;
  readonly initial: TValue;
  readonly context: (input: TInput) => TContext;
  readonly states: { readonly [K in TValue]: StateSpec<TValue, TEvent, NoInfer<TGuard>, NoInfer<TUpdate>> };
  readonly guards: { readonly [K in TGuard]: (context: TContext, event: TEvent) => boolean };
  /** Each returns the whole next context (`{ ...context, changed }`), never mutates. */
  readonly updates: { readonly [K in TUpdate]: (context: TContext, event: TEvent) => TContext };
}

/** Steps a flat machine: pure functions of their arguments. */
export interface Stepper<TValue extends string, TContext, TEvent extends EventObject, TInput> {
  readonly id: string;
  initial(input: TInput): MachineState<TValue, TContext>;
  /** The next state, or the very same object when no transition is enabled. */
  step(state: MachineState<TValue, TContext>, event: TEvent): MachineState<TValue, TContext>;
  isFinal(value: TValue): boolean;
}

export type StepperKind = 'compiled' | 'xstate';

export interface FlatMachine<TValue extends string, TContext, TEvent extends EventObject, TInput> {
  /** The XState machine, for `transition()`, `createActor()` and the visualiser. */
  readonly machine: AnyStateMachine;
  readonly compiled: Stepper<TValue, TContext, TEvent, TInput>;
  readonly xstate: Stepper<TValue, TContext, TEvent, TInput>;
  readonly states: readonly TValue[];
  /** Whether `value` has any transition for `eventType` (guards aside): "allowed in this phase". */
  handles(value: TValue, eventType: TEvent['type']): boolean;
}

/** The event types an update was written for (set by `updateFor`), checked where it is wired. */
const UPDATE_EVENTS = Symbol('updateEvents');
type Update<TContext, TEvent extends EventObject> = ((context: TContext, event: TEvent) => TContext) & { readonly [UPDATE_EVENTS]?: readonly string[] };

/**
 * An update for events of the given types only, typed by them (no `e.type === … ? … : c` that
 * would silently ignore an event it was wired to by mistake): `defineFlatMachine` refuses a spec
 * that uses it under any other event, and a call with another event throws.
 */
export function updateFor<TContext, TEvent extends EventObject, TType extends TEvent['type']>(
  types: readonly TType[],
  update: (context: TContext, event: Extract<TEvent, { readonly type: TType }>) => TContext,
): Update<TContext, TEvent> {
  const typed = (context: TContext, event: TEvent): TContext => {
    assert((types as readonly string[]).includes(event.type), `an update for ${types.join(', ')} called with ${event.type}`);
    return update(context, event as Extract<TEvent, { readonly type: TType }>);
  };
  return Object.assign(typed, { [UPDATE_EVENTS]: types });
}

export function defineFlatMachine<
  TValue extends string,
  TContext extends object,
  TEvent extends EventObject,
  TInput,
  TGuard extends string,
  TUpdate extends string,
>(
  spec: FlatMachineSpec<TValue, TContext, TEvent, TInput, TGuard, TUpdate>,
): FlatMachine<TValue, TContext, TEvent, TInput> {
  checkSpec(spec);
  const machine = buildXStateMachine(spec);
  const finals = new Set<string>(Object.keys(spec.states).filter((name) => spec.states[name as TValue].final));
  const isFinal = (value: TValue): boolean => finals.has(value);
  return {
    machine,
    compiled: compileStepper(spec, isFinal),
    xstate: xstateStepper<TValue, TContext, TEvent, TInput>(spec.id, machine, isFinal),
    states: Object.keys(spec.states) as TValue[],
    handles: (value: TValue, eventType: TEvent['type']): boolean =>
      Object.hasOwn(spec.states[value].on ?? {}, eventType),
  };
}

export function stepperOf<TValue extends string, TContext, TEvent extends EventObject, TInput>(
  definition: FlatMachine<TValue, TContext, TEvent, TInput>,
  kind: StepperKind,
): Stepper<TValue, TContext, TEvent, TInput> {
  return kind === 'compiled' ? definition.compiled : definition.xstate;
}

type AnySpec = FlatMachineSpec<string, object, EventObject, never, string, string>;

/** Load-time checks: the spec stays inside the subset both steppers implement identically. */
function checkSpec(spec: object): void {
  const flat = spec as AnySpec;
  assert(Object.hasOwn(flat.states, flat.initial), `${flat.id}: initial state ${flat.initial} is not defined`);
  for (const [name, state] of Object.entries(flat.states)) {
    for (const update of state.entry ?? []) {
      assert(Object.hasOwn(flat.updates, update), `${flat.id}.${name}: entry update ${update} is not defined`);
      assert((flat.updates[update] as Update<object, EventObject>)[UPDATE_EVENTS] === undefined, `${flat.id}.${name}: entry update ${update} is for some events only`);
    }
    if (state.final) assert(state.on === undefined, `${flat.id}.${name}: a final state takes no events`);
    for (const [eventType, candidates] of Object.entries(state.on ?? {})) {
      assert(Array.isArray(candidates) && candidates.length > 0, `${flat.id}.${name}.${eventType}: no transitions`);
      for (const candidate of candidates as readonly TransitionSpec<string, string, string>[]) {
        const where = `${flat.id}.${name}.${eventType}`;
        if (candidate.target !== undefined) {
          assert(Object.hasOwn(flat.states, candidate.target), `${where}: unknown target ${candidate.target}`);
          assert(candidate.target !== name, `${where}: a self-target would differ in entry semantics; omit it`);
        }
        if (candidate.guard !== undefined) assert(Object.hasOwn(flat.guards, candidate.guard), `${where}: unknown guard`);
        for (const update of candidate.actions ?? []) {
          assert(Object.hasOwn(flat.updates, update), `${where}: unknown update`);
          const accepts = (flat.updates[update] as Update<object, EventObject>)[UPDATE_EVENTS];
          assert(accepts === undefined || accepts.includes(eventType), `${where}: update ${update} is for ${accepts?.join(', ')} only`);
        }
      }
    }
  }
}

function buildXStateMachine(spec: object): AnyStateMachine {
  const flat = spec as AnySpec;
  type Args = { context: object; event: EventObject };
  const guards = Object.fromEntries(
    Object.entries(flat.guards).map(([name, guard]) => [name, ({ context, event }: Args) => guard(context, event)]),
  );
  const actions = Object.fromEntries(
    Object.entries(flat.updates).map(([name, update]) => [name, assign(({ context, event }: Args) => update(context, event))]),
  );
  const states = Object.fromEntries(
    Object.entries(flat.states).map(([name, state]) => {
      const config: Record<string, unknown> = {};
      if (state.final) config['type'] = 'final';
      if (state.entry !== undefined) config['entry'] = [...state.entry];
      if (state.on !== undefined) {
        config['on'] = Object.fromEntries(
          Object.entries(state.on).map(([eventType, candidates]) => [
            eventType,
            (candidates as readonly TransitionSpec<string, string, string>[]).map((candidate) => ({ ...candidate })),
          ]),
        );
      }
      return [name, config];
    }),
  );
  // The spec was checked above; XState's generic config types cannot follow a spec built at run time.
  return createMachine(
    { id: flat.id, initial: flat.initial, context: ({ input }: { input: never }) => flat.context(input), states },
    { guards, actions },
  ) as unknown as AnyStateMachine;
}

interface CompiledTransition {
  readonly target: string | undefined;
  readonly guard: ((context: object, event: EventObject) => boolean) | undefined;
  readonly updates: readonly ((context: object, event: EventObject) => object)[];
  readonly entry: readonly ((context: object, event: EventObject) => object)[];
}

function compileStepper<TValue extends string, TContext extends object, TEvent extends EventObject, TInput>(
  spec: FlatMachineSpec<TValue, TContext, TEvent, TInput, string, string>,
  isFinal: (value: TValue) => boolean,
): Stepper<TValue, TContext, TEvent, TInput> {
  const flat = spec as unknown as AnySpec;
  const table = new Map<string, Map<string, readonly CompiledTransition[]>>();
  const entryOf = (name: string) => (flat.states[name]?.entry ?? []).map((update) => flat.updates[update]!);
  for (const [name, state] of Object.entries(flat.states)) {
    const byEvent = new Map<string, readonly CompiledTransition[]>();
    for (const [eventType, candidates] of Object.entries(state.on ?? {})) {
      const compiled = (candidates as readonly TransitionSpec<string, string, string>[]).map((candidate) => ({
        target: candidate.target,
        guard: candidate.guard === undefined ? undefined : flat.guards[candidate.guard],
        updates: (candidate.actions ?? []).map((update) => flat.updates[update]!),
        entry: candidate.target === undefined ? [] : entryOf(candidate.target),
      }));
      byEvent.set(eventType, compiled);
    }
    table.set(name, byEvent);
  }
  const initialEntry = entryOf(spec.initial);
  return {
    id: spec.id,
    isFinal,
    initial(input: TInput): MachineState<TValue, TContext> {
      let context: object = spec.context(input);
      for (const update of initialEntry) context = update(context, { type: 'xstate.init' });
      return { value: spec.initial, context: context as TContext };
    },
    step(state: MachineState<TValue, TContext>, event: TEvent): MachineState<TValue, TContext> {
      const candidates = table.get(state.value)?.get(event.type);
      if (candidates === undefined) return state;
      for (const candidate of candidates) {
        if (candidate.guard !== undefined && !candidate.guard(state.context, event)) continue;
        let context: object = state.context;
        // Each update spreads its own machine's context at its own call site (monomorphic, fast).
        for (const update of candidate.updates) context = update(context, event);
        for (const update of candidate.entry) context = update(context, event);
        return { value: (candidate.target ?? state.value) as TValue, context: context as TContext };
      }
      return state;
    },
  };
}

function xstateStepper<TValue extends string, TContext, TEvent extends EventObject, TInput>(
  id: string,
  machine: AnyStateMachine,
  isFinal: (value: TValue) => boolean,
): Stepper<TValue, TContext, TEvent, TInput> {
  const toPlain = (snapshot: { value: unknown; context: unknown }): MachineState<TValue, TContext> => {
    assert(typeof snapshot.value === 'string', `${id}: a flat machine has a string state value`);
    return { value: snapshot.value as TValue, context: snapshot.context as TContext };
  };
  return {
    id,
    isFinal,
    initial(input: TInput): MachineState<TValue, TContext> {
      const [snapshot] = initialTransition(machine, input);
      return toPlain(snapshot);
    },
    step(state: MachineState<TValue, TContext>, event: TEvent): MachineState<TValue, TContext> {
      const snapshot = machine.resolveState({ value: state.value, context: state.context as Record<string, unknown> });
      const [next] = transition(machine, snapshot, event);
      // XState returns the same snapshot object when no transition is enabled.
      if (next === snapshot) return state;
      return toPlain(next);
    },
  };
}
