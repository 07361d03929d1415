// An actor host whose events are journalled before they are acknowledged, with snapshots of all
// actors at a journal sequence N and recovery = latest snapshot + replay of the journal after it.
// Every external input (spawn, event) is a journal record stamped with the clock time it arrived
// at. Deadlines are not journalled: they are a function of state and time, so a replay that moves
// its clock to each record's time before applying it fires the same deadlines in the same order.
import { Packr } from 'msgpackr';
import { assert } from '../assert.js';
import type { Journal } from '../store/journal.js';
import { recover, type RecoveryReport } from '../store/recovery.js';
import { writeSnapshot } from '../store/snapshots.js';
import type { Store } from '../store/store.js';
import type { ActorHost, HostSnapshot, SendResult } from './host.js';
import type { EventObject } from './kind.js';

/** One journalled input of the host. */
export type HostRecord =
  | { readonly type: 'spawn'; readonly kind: string; readonly id: string; readonly input: unknown; readonly atMs: number }
  | { readonly type: 'send'; readonly id: string; readonly event: EventObject; readonly atMs: number };

const packr = new Packr({ useRecords: false, mapsAsObjects: true, encodeUndefinedAsNil: true });

export class DurableActorHost {
  constructor(
    readonly host: ActorHost,
    private readonly journal: Journal,
    private readonly store: Store,
    /** Moves the host's clock to a recorded time during replay (a VirtualClock's advanceTo). */
    private readonly replayClockTo: (atMs: number) => void,
    private readonly nowMs: () => number,
  ) {}

  /** Spawns, then resolves once the spawn is durable. */
  async spawn(kind: string, id: string, input: unknown): Promise<void> {
    this.host.spawn(kind, id, input);
    await this.journal.append(packr.pack({ type: 'spawn', kind, id, input, atMs: this.nowMs() } satisfies HostRecord));
  }

  /**
   * Delivers an event and resolves once it is durable. Events the host refuses change nothing and
   * are not journalled.
   */
  async send(id: string, event: EventObject): Promise<SendResult> {
    const result = this.host.send(id, event);
    if (result.ok) await this.journal.append(packr.pack({ type: 'send', id, event, atMs: this.nowMs() } satisfies HostRecord));
    return result;
  }

  /** Writes a snapshot of every actor at the journal's current sequence. */
  async snapshot(): Promise<number> {
    const sequence = this.journal.lastSequence;
    assert(this.journal.lastDurableSequence === sequence, 'snapshot while journal appends are in flight');
    await writeSnapshot(this.store, { sequence, journalHash: this.journal.headHash, state: packr.pack(this.host.snapshot()) });
    return sequence;
  }

  /** Rebuilds the host from the latest snapshot and the journal after it. */
  async recover(): Promise<RecoveryReport> {
    return recover(this.store, this.journal, {
      restore: (state) => {
        if (state !== undefined) this.host.restore(packr.unpack(state) as HostSnapshot);
      },
      apply: (entry) => {
        const record = packr.unpack(entry.payload) as HostRecord;
        this.replayClockTo(record.atMs);
        if (record.type === 'spawn') this.host.spawn(record.kind, record.id, record.input);
        else this.host.send(record.id, record.event);
      },
    });
  }
}
