// Withdrawals as the market core keeps them (the money moves in the ledger): live withdrawals by
// id, each a withdrawal machine (src/machines/withdrawal.ts), indexed by participant; and every
// idempotency key ever used, per participant, with the body it came with, so a repeated request
// returns the same withdrawal and a reused key with another body is refused, forever.
import { assert } from '../assert.js';
import { compareStrings } from './state.js';
import { MONEY_SATS_MAX } from './limits.js';
import type { MarketState, WithdrawalHistorySnapshot, WithdrawalKeySnapshot, WithdrawalSnapshot } from './state.js';
import type { WithdrawalState } from '../machines/withdrawal.js';

export interface WithdrawalKeyRecord {
  readonly withdrawalId: string;
  readonly destination: string;
  readonly amountSats: number;
}

/** The operator's withdrawal rules (admin-signed, journalled: replay applies the same ones). */
export interface WithdrawalPolicy {
  /** At most this much requested per participant in any 24 hours. */
  readonly dailyLimitSats: number;
  /** Above this amount a withdrawal waits for the admin's approval. */
  readonly manualAboveSats: number;
  /** A withdrawal to a destination this participant was never paid at waits this long. */
  readonly newDestinationDelayMs: number;
}

export const DAY_MS = 24 * 3_600_000;

export class WithdrawalBook {
  seq = 0;
  policy: WithdrawalPolicy = { dailyLimitSats: MONEY_SATS_MAX, manualAboveSats: MONEY_SATS_MAX, newDestinationDelayMs: 0 };
  /** Each participant's requests of the last 24 hours (older ones are pruned at its next request). */
  private readonly recent = new Map<string, { atMs: number; amountSats: number }[]>();
  /** Destinations each participant was paid at (a completed withdrawal). */
  private readonly paidTo = new Set<string>();
  readonly live = new Map<string, { state: WithdrawalState }>();
  private readonly byParticipant = new Map<string, Set<string>>();
  private readonly keys = new Map<string, WithdrawalKeyRecord>();

  /** Requested in the 24 hours before `nowMs` (prunes older entries). */
  requestedInDay(participant: string, nowMs: number): number {
    const list = this.recent.get(participant);
    if (list === undefined) return 0;
    while (list.length > 0 && list[0]!.atMs <= nowMs - DAY_MS) list.shift();
    if (list.length === 0) this.recent.delete(participant);
    return list.reduce((sum, entry) => sum + entry.amountSats, 0);
  }

  noteRequest(participant: string, atMs: number, amountSats: number): void {
    let list = this.recent.get(participant);
    if (list === undefined) this.recent.set(participant, (list = []));
    list.push({ atMs, amountSats });
  }

  wasPaidTo(participant: string, destination: string): boolean {
    return this.paidTo.has(keyName(participant, destination));
  }

  notePaid(participant: string, destination: string): void {
    this.paidTo.add(keyName(participant, destination));
  }

  keyOf(participant: string, key: string): WithdrawalKeyRecord | undefined {
    return this.keys.get(keyName(participant, key));
  }

  add(state: WithdrawalState): void {
    const c = state.context;
    assert(!this.live.has(c.withdrawalId), 'a withdrawal id is new');
    this.live.set(c.withdrawalId, { state });
    let own = this.byParticipant.get(c.participant);
    if (own === undefined) this.byParticipant.set(c.participant, (own = new Set()));
    own.add(c.withdrawalId);
    this.keys.set(keyName(c.participant, c.key), { withdrawalId: c.withdrawalId, destination: c.destination, amountSats: c.amountSats });
  }

  /** A finished withdrawal leaves; its key stays. */
  close(withdrawalId: string): void {
    const record = this.live.get(withdrawalId);
    assert(record !== undefined, 'a closed withdrawal was live');
    this.live.delete(withdrawalId);
    const own = this.byParticipant.get(record.state.context.participant)!;
    own.delete(withdrawalId);
    if (own.size === 0) this.byParticipant.delete(record.state.context.participant);
  }

  of(participant: string): WithdrawalState[] {
    return [...(this.byParticipant.get(participant) ?? [])].map((id) => this.live.get(id)!.state);
  }

  exportLive(): WithdrawalSnapshot[] {
    return [...this.live.values()].map(({ state }) => ({ ...state.context, state: state.value })).sort((a, b) => compareStrings(a.withdrawalId, b.withdrawalId));
  }

  exportKeys(): WithdrawalKeySnapshot[] {
    return [...this.keys].map(([name, record]) => {
      const [participant, key] = name.split('\n') as [string, string];
      return { participant, key, ...record };
    }).sort((a, b) => compareStrings(a.participant, b.participant) || compareStrings(a.key, b.key));
  }

  exportHistory(): WithdrawalHistorySnapshot[] {
    return [...this.recent].sort((a, b) => compareStrings(a[0], b[0])).flatMap(([participant, list]) => list.map((entry) => ({ participant, ...entry })));
  }

  exportPaidTo(): { participant: string; destination: string }[] {
    return [...this.paidTo].sort(compareStrings).map((name) => {
      const [participant, destination] = name.split('\n') as [string, string];
      return { participant, destination };
    });
  }

  restore(state: MarketState): void {
    this.seq = state.withdrawalSeq;
    this.policy = { ...state.withdrawalPolicy };
    for (const { participant, atMs, amountSats } of state.withdrawalHistory) this.noteRequest(participant, atMs, amountSats);
    for (const { participant, destination } of state.withdrawalDestinations) this.notePaid(participant, destination);
    for (const { participant, key, ...record } of state.withdrawalKeys) this.keys.set(keyName(participant, key), record);
    for (const { state: value, ...context } of state.withdrawals) {
      this.add({ value, context });
      assert(this.keyOf(context.participant, context.key)?.withdrawalId === context.withdrawalId, 'a restored withdrawal has its key');
    }
  }
}

/** Keys and addresses have no newline, so the pair is unambiguous. */
function keyName(participant: string, key: string): string {
  return `${participant}\n${key}`;
}
