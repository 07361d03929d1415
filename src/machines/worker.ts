// The worker machine (daemon side): a local program that renders one article for sale.
//   registered ──READY──▶ idle ──ASSIGN──▶ busy ──DONE / FAILED──▶ idle
//   registered, idle, busy ──GONE──▶ offline ──REGISTER──▶ registered
// The daemon keeps one pending SELL bid per idle worker (reference §1.4, §11 item 22); a worker
// that fails counts the failure so the daemon can back off. A worker lost while busy keeps the
// transaction id, so the daemon knows which transaction to reject (rejectwork).
import { defineFlatMachine, updateFor } from './flat-machine.js';
import type { MachineState } from './flat-machine.js';

export type WorkerValue = 'registered' | 'idle' | 'busy' | 'offline';

export interface WorkerContext {
  readonly workerId: string;
  readonly article: string;
  readonly txId: string | null;
  readonly failures: number;
  readonly lastSeenMs: number;
}

export interface WorkerInput {
  readonly workerId: string;
  readonly article: string;
  readonly nowMs: number;
}

export type WorkerEvent =
  | { readonly type: 'READY'; readonly nowMs: number }
  | { readonly type: 'ASSIGN'; readonly nowMs: number; readonly txId: string }
  | { readonly type: 'DONE'; readonly nowMs: number }
  | { readonly type: 'FAILED'; readonly nowMs: number }
  | { readonly type: 'GONE'; readonly nowMs: number }
  | { readonly type: 'REGISTER'; readonly nowMs: number; readonly article: string };

export type WorkerState = MachineState<WorkerValue, WorkerContext>;

export const workerMachine = defineFlatMachine({
  id: 'worker',
  initial: 'registered' as WorkerValue,
  context: (input: WorkerInput): WorkerContext => ({
    workerId: input.workerId,
    article: input.article,
    txId: null,
    failures: 0,
    lastSeenMs: input.nowMs,
  }),
  guards: {},
  updates: {
    seen: (c: WorkerContext, e: WorkerEvent) => ({ ...c, lastSeenMs: e.nowMs }),
    assign: updateFor<WorkerContext, WorkerEvent, 'ASSIGN'>(['ASSIGN'], (c, e) => ({ ...c, txId: e.txId })),
    finish: (c: WorkerContext) => ({ ...c, txId: null }),
    countFailure: (c: WorkerContext) => ({ ...c, failures: c.failures + 1 }),
    register: updateFor<WorkerContext, WorkerEvent, 'REGISTER'>(['REGISTER'], (c, e) => ({ ...c, article: e.article, txId: null })),
  },
  states: {
    registered: {
      on: {
        READY: [{ target: 'idle', actions: ['seen'] }],
        GONE: [{ target: 'offline', actions: ['seen'] }],
      },
    },
    idle: {
      on: {
        ASSIGN: [{ target: 'busy', actions: ['seen', 'assign'] }],
        GONE: [{ target: 'offline', actions: ['seen'] }],
      },
    },
    busy: {
      on: {
        DONE: [{ target: 'idle', actions: ['seen', 'finish'] }],
        FAILED: [{ target: 'idle', actions: ['seen', 'finish', 'countFailure'] }],
        GONE: [{ target: 'offline', actions: ['seen'] }],
      },
    },
    offline: {
      on: {
        REGISTER: [{ target: 'registered', actions: ['seen', 'register'] }],
      },
    },
  },
});
