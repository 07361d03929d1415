// The actor host: runs actors of registered kinds by id, on an injected clock. Each event is
// processed to completion: the kind's pure step decides the next state and its effects; the host
// commits the state, then executes the effects (STYLE.md: decide, then execute). Sends produced
// by effects are queued and processed in order after the current event, so a run is a pure
// function of (kinds, inputs, events, clock). The host keeps its own registry of root actors
// (XState children under one parent get slow) and its own deadline queue: deadlines are absolute
// times in context, re-armed after every step and on restore.
import { assert } from '../assert.js';
import type { Clock, TimerId } from '../clock.js';
import { DeadlineHeap } from '../heap.js';
import type { AnyActorKind, Effect, EventObject, PersistedState } from './kind.js';

export type InspectionRecord =
  | { readonly type: 'spawn'; readonly id: string; readonly kind: string; readonly state: PersistedState }
  | { readonly type: 'transition'; readonly id: string; readonly kind: string; readonly event: EventObject; readonly state: PersistedState }
  | { readonly type: 'emit'; readonly id: string; readonly event: EventObject }
  | { readonly type: 'stop'; readonly id: string }
  | { readonly type: 'failure'; readonly id: string; readonly event: EventObject; readonly phase: 'step' | 'effect'; readonly error: unknown };

export type SendRejection = 'unknown_actor' | 'actor_final' | 'actor_failed';
export type SendResult =
  | { readonly ok: true; readonly queued: boolean }
  | { readonly ok: false; readonly error: SendRejection; readonly detail: string };

export interface HostSnapshot {
  readonly version: 1;
  readonly actors: ReadonlyArray<readonly [id: string, kind: string, state: PersistedState]>;
}

export type StateListener = (state: PersistedState, emitted: readonly EventObject[]) => void;

interface ActorRecord {
  readonly kind: AnyActorKind;
  state: unknown;
  deadlineMs: number | undefined;
  /** Arming order of the live deadline entry; older entries for this actor are stale. */
  deadlineOrder: number;
}

export interface ActorHostOptions {
  readonly clock: Clock;
  /** Called for every spawn, transition, emission, stop and failure (metrics, logs, the UI). */
  readonly inspect?: (record: InspectionRecord) => void;
  /** Most events queued by effects while one event is processed (runaway loops are bugs). */
  readonly mailboxMax?: number;
  /**
   * Called after every committed step of any actor (spawn included) with its state and emitted
   * events, before the per-actor listeners: where a runtime persists the state and then carries
   * out the effects the step emitted.
   */
  readonly committed?: (id: string, kind: string, state: PersistedState, emitted: readonly EventObject[]) => void;
}

export class ActorHost {
  private readonly kinds = new Map<string, AnyActorKind>();
  private readonly actors = new Map<string, ActorRecord>();
  private readonly listeners = new Map<string, Set<StateListener>>();
  private readonly deadlines = new DeadlineHeap();
  private deadlinesArmed = 0;
  private readonly mailbox: Array<{ readonly to: string; readonly event: EventObject }> = [];
  private readonly mailboxMax: number;
  private processing = false;
  private timer: TimerId | undefined;
  private timerDueMs: number | undefined;

  constructor(private readonly options: ActorHostOptions) {
    this.mailboxMax = options.mailboxMax ?? 100_000;
  }

  get size(): number {
    return this.actors.size;
  }

  register(kind: AnyActorKind): void {
    assert(!this.kinds.has(kind.name), `actor kind "${kind.name}" is registered already`);
    this.kinds.set(kind.name, kind);
  }

  kindOf(id: string): AnyActorKind | undefined {
    return this.actors.get(id)?.kind;
  }

  /** Starts an actor; its initial effects run at once. */
  spawn(kindName: string, id: string, input: unknown): PersistedState {
    const kind = this.kinds.get(kindName);
    assert(kind !== undefined, `unknown actor kind "${kindName}"`);
    assert(!this.actors.has(id), `actor "${id}" exists already`);
    const { state, effects } = kind.initial(input);
    const record: ActorRecord = { kind, state, deadlineMs: undefined, deadlineOrder: -1 };
    this.actors.set(id, record);
    this.rearm(id, record);
    const persisted = kind.persist(state);
    this.options.inspect?.({ type: 'spawn', id, kind: kind.name, state: persisted });
    this.runToCompletion(() => this.execute(id, record, { type: 'xstate.init' }, effects));
    return persisted;
  }

  /** Delivers an event. Sent from inside an effect or listener, it is queued (run to completion). */
  send<E extends EventObject>(id: string, event: E): SendResult {
    const record = this.actors.get(id);
    if (record === undefined) return { ok: false, error: 'unknown_actor', detail: `no actor "${id}"` };
    if (record.kind.isFinal(record.state)) return { ok: false, error: 'actor_final', detail: `actor "${id}" has finished` };
    if (this.processing) {
      this.enqueue(id, event);
      return { ok: true, queued: true };
    }
    let result: SendResult = { ok: true, queued: false };
    this.runToCompletion(() => (result = this.deliver(id, event)));
    return result;
  }

  /** The actor's state as plain data, or undefined. */
  get(id: string): PersistedState | undefined {
    const record = this.actors.get(id);
    return record === undefined ? undefined : record.kind.persist(record.state);
  }

  has(id: string): boolean {
    return this.actors.has(id);
  }

  ids(): IterableIterator<string> {
    return this.actors.keys();
  }

  stop(id: string): boolean {
    const removed = this.actors.delete(id);
    if (removed) {
      this.listeners.delete(id);
      this.options.inspect?.({ type: 'stop', id });
    }
    return removed;
  }

  /** Calls `listener` after every committed transition of actor `id`; returns the unsubscriber. */
  subscribe(id: string, listener: StateListener): () => void {
    let set = this.listeners.get(id);
    if (set === undefined) this.listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Every actor's state as plain data, in spawn order. */
  snapshot(): HostSnapshot {
    const actors: Array<readonly [string, string, PersistedState]> = [];
    for (const [id, record] of this.actors) actors.push([id, record.kind.name, record.kind.persist(record.state)]);
    return { version: 1, actors };
  }

  /** Replaces every actor by those of `snapshot` and re-arms their deadlines. */
  restore(snapshot: HostSnapshot): void {
    assert(snapshot.version === 1, `unknown host snapshot version ${String(snapshot.version)}`);
    assert(!this.processing, 'restore while processing an event');
    this.actors.clear();
    this.deadlines.clear();
    for (const [id, kindName, persisted] of snapshot.actors) this.revive(kindName, id, persisted);
  }

  /**
   * Takes up one actor from its saved state (a process that restarted): its deadline is re-armed;
   * nothing else runs (the caller knows what the state asks for).
   */
  revive(kindName: string, id: string, persisted: PersistedState): void {
    const kind = this.kinds.get(kindName);
    assert(kind !== undefined, `unknown actor kind "${kindName}"`);
    assert(!this.actors.has(id), `actor "${id}" exists already`);
    const record: ActorRecord = { kind, state: kind.restore(persisted), deadlineMs: undefined, deadlineOrder: -1 };
    this.actors.set(id, record);
    this.rearm(id, record);
  }

  /** Stops the deadline timer (the host can be dropped or restored afterwards). */
  dispose(): void {
    if (this.timer !== undefined) this.options.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerDueMs = undefined;
  }

  private enqueue(to: string, event: EventObject): void {
    assert(this.mailbox.length < this.mailboxMax, `mailbox overflow: more than ${this.mailboxMax} queued events (an effect loop?)`);
    this.mailbox.push({ to, event });
  }

  private runToCompletion(first: () => void): void {
    this.processing = true;
    try {
      first();
      for (let next = this.mailbox.shift(); next !== undefined; next = this.mailbox.shift()) {
        const record = this.actors.get(next.to);
        if (record !== undefined && !record.kind.isFinal(record.state)) this.deliver(next.to, next.event);
      }
    } finally {
      this.processing = false;
    }
  }

  private deliver(id: string, event: EventObject): SendResult {
    const record = this.actors.get(id)!;
    let step;
    try {
      step = record.kind.step(record.state, event);
    } catch (error) {
      // Supervision: the actor keeps its last good state (the step never committed).
      this.options.inspect?.({ type: 'failure', id, event, phase: 'step', error });
      return { ok: false, error: 'actor_failed', detail: (error as Error)?.message ?? String(error) };
    }
    if (step.state === record.state && step.effects.length === 0) return { ok: true, queued: false };
    record.state = step.state;
    this.rearm(id, record);
    if (this.options.inspect !== undefined) {
      this.options.inspect({ type: 'transition', id, kind: record.kind.name, event, state: record.kind.persist(step.state) });
    }
    this.execute(id, record, event, step.effects);
    return { ok: true, queued: false };
  }

  private execute(id: string, record: ActorRecord, cause: EventObject, effects: readonly Effect[]): void {
    const emitted: EventObject[] = [];
    for (const effect of effects) {
      if (effect.type === 'send') this.enqueue(effect.to, effect.event);
      else if (effect.type === 'emit') {
        emitted.push(effect.event);
        this.options.inspect?.({ type: 'emit', id, event: effect.event });
      } else {
        try {
          effect.run();
        } catch (error) {
          this.options.inspect?.({ type: 'failure', id, event: cause, phase: 'effect', error });
        }
      }
    }
    const committed = this.options.committed;
    if (committed !== undefined) {
      try {
        committed(id, record.kind.name, record.kind.persist(record.state), emitted);
      } catch (error) {
        this.options.inspect?.({ type: 'failure', id, event: cause, phase: 'effect', error });
      }
    }
    const listeners = this.listeners.get(id);
    if (listeners === undefined || listeners.size === 0) return;
    const persisted = record.kind.persist(record.state);
    for (const listener of [...listeners]) {
      try {
        listener(persisted, emitted);
      } catch (error) {
        this.options.inspect?.({ type: 'failure', id, event: cause, phase: 'effect', error });
      }
    }
  }

  private rearm(id: string, record: ActorRecord): void {
    const deadlineMs = record.kind.deadlineMs?.(record.state);
    if (deadlineMs === record.deadlineMs) return;
    record.deadlineMs = deadlineMs;
    if (deadlineMs === undefined) return;
    record.deadlineOrder = this.deadlinesArmed++;
    this.deadlines.push(deadlineMs, record.deadlineOrder, id);
    if (this.timerDueMs === undefined || deadlineMs < this.timerDueMs) this.armTimer(deadlineMs);
  }

  private armTimer(dueMs: number): void {
    const clock = this.options.clock;
    if (this.timer !== undefined) clock.clearTimer(this.timer);
    this.timerDueMs = dueMs;
    this.timer = clock.setTimer(() => this.fireDeadlines(), Math.max(0, dueMs - clock.now()));
  }

  private fireDeadlines(): void {
    this.timer = undefined;
    this.timerDueMs = undefined;
    const nowMs = this.options.clock.now();
    for (let entry = this.deadlines.peek(); entry !== undefined && entry.dueMs <= nowMs; entry = this.deadlines.peek()) {
      this.deadlines.pop();
      const record = this.actors.get(entry.id);
      // Stale entries: the actor is gone, finished, or its deadline moved.
      if (record === undefined || record.deadlineOrder !== entry.order || record.kind.isFinal(record.state)) continue;
      const event = record.kind.deadlineEvent?.(entry.dueMs);
      if (event !== undefined) this.send(entry.id, event);
    }
    const next = this.deadlines.peek();
    if (next !== undefined) this.armTimer(next.dueMs);
  }
}
