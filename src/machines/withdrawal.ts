// The withdrawal machine: one participant's payout to one Bitcoin address. States only move
// forward; the one step back is a confirmation's block reorged out (the transaction is then
// broadcast again, and watched), and a failed withdrawal is refunded only by an explicit operator
// command (no automatic path from failure back to the balance, so nothing is paid twice).
//   requested ─APPROVE (the processor: automatic ones once due; the admin: any)→ approved ─BATCH→ batched ─SIGN(txid)→ signed ─BROADCAST→ broadcast
//   broadcast ─CONFIRM(txid, block)→ confirmed ─COMPLETE→ completed        confirmed ─REORG→ broadcast
//   broadcast ─CONFLICT→ conflicted (its inputs were double-spent: an alert, never re-paid)
//   requested | approved | batched | signed | conflicted ─FAIL(reason)→ failed ─REFUND→ refunded
// The txid is recorded at SIGN, before anything is broadcast, so a retry re-sends the same signed
// transaction, never a rebuilt one. Money is not here: the ledger moves it (held at the request,
// out at completion, back at a refund).
import { defineFlatMachine, updateFor } from './flat-machine.js';
import type { MachineState } from './flat-machine.js';

export type WithdrawalValue = 'requested' | 'approved' | 'batched' | 'signed' | 'broadcast' | 'confirmed' | 'completed' | 'conflicted' | 'failed' | 'refunded';

export interface WithdrawalContext {
  readonly withdrawalId: string;
  readonly participant: string;
  /** The client's idempotency key: the same key with the same body is the same withdrawal. */
  readonly key: string;
  /** Normalised destination address. */
  readonly destination: string;
  readonly amountSats: number;
  readonly createdMs: number;
  /** 'manual': above the exchange's threshold, only the admin approves it. */
  readonly review: 'auto' | 'manual';
  /** The payout processor approves it no earlier (a destination never paid before waits). */
  readonly notBeforeMs: number;
  readonly batchId: string | null;
  readonly txid: string | null;
  readonly block: { readonly height: number; readonly hash: string } | null;
  readonly reason: string | null;
}

export type WithdrawalInput = Pick<WithdrawalContext, 'withdrawalId' | 'participant' | 'key' | 'destination' | 'amountSats' | 'createdMs' | 'review' | 'notBeforeMs'>;

export type WithdrawalEvent =
  /** By the payout processor (only an automatic one, once due) or by the admin (any). */
  | { readonly type: 'APPROVE'; readonly by: 'processor' | 'admin'; readonly nowMs: number }
  | { readonly type: 'BATCH'; readonly batchId: string }
  | { readonly type: 'SIGN'; readonly txid: string }
  | { readonly type: 'BROADCAST' }
  /** `txid`: the candidate that confirmed (the first signed one, or a fee bump replacing it). */
  | { readonly type: 'CONFIRM'; readonly txid: string; readonly block: { readonly height: number; readonly hash: string } }
  | { readonly type: 'REORG' }
  | { readonly type: 'COMPLETE' }
  | { readonly type: 'CONFLICT' }
  | { readonly type: 'FAIL'; readonly reason: string }
  | { readonly type: 'REFUND' };

export type WithdrawalEventType = WithdrawalEvent['type'];
export type WithdrawalState = MachineState<WithdrawalValue, WithdrawalContext>;

export const WITHDRAWAL_FINAL: ReadonlySet<WithdrawalValue> = new Set(['completed', 'refunded']);

export const withdrawalMachine = defineFlatMachine({
  id: 'withdrawal',
  initial: 'requested' as WithdrawalValue,
  context: (input: WithdrawalInput): WithdrawalContext => ({
    withdrawalId: input.withdrawalId,
    participant: input.participant,
    key: input.key,
    destination: input.destination,
    amountSats: input.amountSats,
    createdMs: input.createdMs,
    review: input.review,
    notBeforeMs: input.notBeforeMs,
    batchId: null,
    txid: null,
    block: null,
    reason: null,
  }),
  guards: {
    approvable: (context: WithdrawalContext, event: WithdrawalEvent) =>
      event.type === 'APPROVE' && (event.by === 'admin' || (context.review === 'auto' && event.nowMs >= context.notBeforeMs)),
  },
  updates: {
    recordBatch: updateFor<WithdrawalContext, WithdrawalEvent, 'BATCH'>(['BATCH'], (context, event) => ({ ...context, batchId: event.batchId })),
    recordTxid: updateFor<WithdrawalContext, WithdrawalEvent, 'SIGN'>(['SIGN'], (context, event) => ({ ...context, txid: event.txid })),
    recordBlock: updateFor<WithdrawalContext, WithdrawalEvent, 'CONFIRM'>(['CONFIRM'], (context, event) => ({ ...context, txid: event.txid, block: { height: event.block.height, hash: event.block.hash } })),
    forgetBlock: (context: WithdrawalContext): WithdrawalContext => ({ ...context, block: null }),
    recordReason: updateFor<WithdrawalContext, WithdrawalEvent, 'FAIL'>(['FAIL'], (context, event) => ({ ...context, reason: event.reason })),
  },
  states: {
    requested: { on: { APPROVE: [{ target: 'approved', guard: 'approvable' }], FAIL: [{ target: 'failed', actions: ['recordReason'] }] } },
    approved: { on: { BATCH: [{ target: 'batched', actions: ['recordBatch'] }], FAIL: [{ target: 'failed', actions: ['recordReason'] }] } },
    batched: { on: { SIGN: [{ target: 'signed', actions: ['recordTxid'] }], FAIL: [{ target: 'failed', actions: ['recordReason'] }] } },
    signed: { on: { BROADCAST: [{ target: 'broadcast' }], FAIL: [{ target: 'failed', actions: ['recordReason'] }] } },
    broadcast: { on: { CONFIRM: [{ target: 'confirmed', actions: ['recordBlock'] }], CONFLICT: [{ target: 'conflicted' }] } },
    confirmed: { on: { COMPLETE: [{ target: 'completed' }], REORG: [{ target: 'broadcast', actions: ['forgetBlock'] }] } },
    conflicted: { on: { FAIL: [{ target: 'failed', actions: ['recordReason'] }] } },
    failed: { on: { REFUND: [{ target: 'refunded' }] } },
    completed: { final: true },
    refunded: { final: true },
  },
});
