// An actor kind: how to start, step, persist and time out one kind of actor. The host is generic
// over kinds: the trade kinds (trade-kinds.ts) step the daemon's pure trade logic; the tests make
// kinds of XState machines (test/actors/machine-kind.ts).

export interface EventObject {
  readonly type: string;
}

/** What the host does after a step is committed ("decide, then execute"). */
export type Effect =
  /** Published to the actor's subscribers (and the inspection hook). */
  | { readonly type: 'emit'; readonly event: EventObject }
  /** Delivered to another actor after the current event is done (run to completion). */
  | { readonly type: 'send'; readonly to: string; readonly event: EventObject }
  /** A side effect to run once the new state is committed. */
  | { readonly type: 'run'; readonly name: string; readonly run: () => void };

export interface Step<S> {
  readonly state: S;
  readonly effects: readonly Effect[];
}

/** The plain, serialisable form of a state: what snapshots store and subscribers see. */
export interface PersistedState {
  readonly value: unknown;
  readonly context: unknown;
}

export interface ActorKind<S = unknown, E extends EventObject = EventObject, I = unknown> {
  readonly name: string;
  initial(input: I): Step<S>;
  /** Pure: the next state and the effects to execute. Must not mutate `state`. */
  step(state: S, event: E): Step<S>;
  persist(state: S): PersistedState;
  restore(persisted: PersistedState): S;
  /** The absolute time (ms) of this state's next deadline, read from its context. */
  deadlineMs?(state: S): number | undefined;
  /** The event the host sends when that deadline is reached. */
  deadlineEvent?(deadlineMs: number): E;
  /** A final actor takes no more events. */
  isFinal(state: S): boolean;
}

export type AnyActorKind = ActorKind<any, any, any>;
