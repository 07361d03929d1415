// Withdrawals as the market core keeps them (the money moves in the ledger): live withdrawals by
// id, each a withdrawal machine (src/machines/withdrawal.ts), indexed by participant; and every
// idempotency key ever used, per participant, with the body it came with, so a repeated request
// returns the same withdrawal and a reused key with another body is refused, forever.
import { assert } from '../assert.js';
import { compareStrings } from './state.js';
import type { MarketState, WithdrawalKeySnapshot, WithdrawalSnapshot } from './state.js';
import type { WithdrawalState } from '../machines/withdrawal.js';

export interface WithdrawalKeyRecord {
  readonly withdrawalId: string;
  readonly destination: string;
  readonly amountSats: number;
}

export class WithdrawalBook {
  seq = 0;
  readonly live = new Map<string, { state: WithdrawalState }>();
  private readonly byParticipant = new Map<string, Set<string>>();
  private readonly keys = new Map<string, WithdrawalKeyRecord>();

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

  restore(state: MarketState): void {
    this.seq = state.withdrawalSeq;
    for (const { participant, key, ...record } of state.withdrawalKeys) this.keys.set(keyName(participant, key), record);
    for (const { state: value, ...context } of state.withdrawals) {
      this.add({ value, context });
      assert(this.keyOf(context.participant, context.key)?.withdrawalId === context.withdrawalId, 'a restored withdrawal has its key');
    }
  }
}

/** Keys are references (no newline), so the pair is unambiguous. */
function keyName(participant: string, key: string): string {
  return `${participant}\n${key}`;
}
