// Goal: the daemon's worker machine: a worker registers, becomes idle, takes one transaction at
// a time, returns to idle when done or failed (counting failures), and may go offline from any
// live state and come back by registering again. Method: pure transitions, one line per case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerMachine } from '../../src/machines/worker.js';
import type { WorkerEvent, WorkerState, WorkerValue } from '../../src/machines/worker.js';

const stepper = workerMachine.compiled;

function run(events: readonly WorkerEvent[]): WorkerState {
  let state = stepper.initial({ workerId: 'w1', article: 'net.bitwrk/blender/0/3.4/512M', nowMs: 0 });
  for (const event of events) state = stepper.step(state, event);
  return state;
}

test('register, ready, assign, done: back to idle without a transaction', () => {
  const busy = run([{ type: 'READY', nowMs: 1 }, { type: 'ASSIGN', nowMs: 2, txId: 't5' }]);
  assert.equal(busy.value, 'busy');
  assert.equal(busy.context.txId, 't5');
  const idle = stepper.step(busy, { type: 'DONE', nowMs: 3 });
  assert.equal(idle.value, 'idle');
  assert.equal(idle.context.txId, null);
  assert.equal(idle.context.lastSeenMs, 3);
  assert.equal(idle.context.failures, 0);
});

test('a failure returns to idle and counts', () => {
  const state = run([{ type: 'READY', nowMs: 1 }, { type: 'ASSIGN', nowMs: 2, txId: 't5' }, { type: 'FAILED', nowMs: 3 }]);
  assert.equal(state.value, 'idle');
  assert.equal(state.context.failures, 1);
});

test('transitions, one line per state and event', () => {
  const reach: Record<WorkerValue, WorkerEvent[]> = {
    registered: [],
    idle: [{ type: 'READY', nowMs: 1 }],
    busy: [{ type: 'READY', nowMs: 1 }, { type: 'ASSIGN', nowMs: 2, txId: 't1' }],
    offline: [{ type: 'GONE', nowMs: 1 }],
  };
  const cases: Array<[WorkerValue, WorkerEvent, WorkerValue | 'unchanged']> = [
    ['registered', { type: 'ASSIGN', nowMs: 5, txId: 't2' }, 'unchanged'],
    ['registered', { type: 'GONE', nowMs: 5 }, 'offline'],
    ['idle', { type: 'DONE', nowMs: 5 }, 'unchanged'],
    ['idle', { type: 'GONE', nowMs: 5 }, 'offline'],
    ['busy', { type: 'ASSIGN', nowMs: 5, txId: 't2' }, 'unchanged'],
    ['busy', { type: 'GONE', nowMs: 5 }, 'offline'],
    ['offline', { type: 'READY', nowMs: 5 }, 'unchanged'],
    ['offline', { type: 'ASSIGN', nowMs: 5, txId: 't2' }, 'unchanged'],
    ['offline', { type: 'REGISTER', nowMs: 5, article: 'other' }, 'registered'],
  ];
  for (const [from, event, expected] of cases) {
    const before = run(reach[from]);
    const after = stepper.step(before, event);
    if (expected === 'unchanged') assert.equal(after, before, `${from} ignores ${event.type}`);
    else assert.equal(after.value, expected, `${from} --${event.type}--> ${expected}`);
  }
});

test('a worker lost while busy keeps its transaction; re-registering clears it and may change the article', () => {
  const lost = run([{ type: 'READY', nowMs: 1 }, { type: 'ASSIGN', nowMs: 2, txId: 't5' }, { type: 'GONE', nowMs: 9 }]);
  assert.equal(lost.value, 'offline');
  assert.equal(lost.context.txId, 't5', 'the daemon can reject the work it lost');
  const back = stepper.step(lost, { type: 'REGISTER', nowMs: 20, article: 'net.bitwrk/blender/0/4.1/2G' });
  assert.equal(back.context.txId, null);
  assert.equal(back.context.article, 'net.bitwrk/blender/0/4.1/2G');
  assert.equal(back.context.lastSeenMs, 20);
});
