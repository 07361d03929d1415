// The account machine: one participant's balances, in satoshis, and whether it is frozen.
//   active ◀──FREEZE / UNFREEZE──▶ frozen
// Four buckets: available (spendable), held (escrow for open BUY bids and live transactions),
// depositPending (seen on chain, not yet confirmed) and payoutPending (requested, not yet sent).
// Guards refuse any step that would make a bucket negative, with one exception: a reversed
// deposit (its block was reorged out after the credit) takes its amount back from available
// even when that was spent, since the chain, not the account, decides; the core then freezes
// the account until the debt is repaid. A frozen account takes no new
// commitments (HOLD, PAYOUT_REQUEST) but money already owed still flows in and out, so that
// running transactions settle and nothing is stuck.
// The ledger (src/market/ledger.ts) is the only sender of money events: each is one side of a
// double-entry transfer, and the ledger checks that both sides moved.
import { defineFlatMachine } from './flat-machine.js';
import type { MachineState, TransitionSpec } from './flat-machine.js';

export type AccountValue = 'active' | 'frozen';

export interface AccountContext {
  readonly address: string;
  readonly availableSats: number;
  readonly heldSats: number;
  readonly depositPendingSats: number;
  readonly payoutPendingSats: number;
}

export type AccountMoneyEventType =
  | 'HOLD'
  | 'RELEASE'
  | 'SETTLE'
  | 'CREDIT'
  | 'DEPOSIT_SEEN'
  | 'DEPOSIT_CONFIRMED'
  | 'DEPOSIT_DROPPED'
  | 'DEPOSIT_REVERSED'
  | 'PAYOUT_REQUEST'
  | 'PAYOUT_SENT'
  | 'PAYOUT_FAILED';

export type AccountEvent =
  | { readonly type: AccountMoneyEventType; readonly amountSats: number }
  | { readonly type: 'FREEZE' }
  | { readonly type: 'UNFREEZE' };

export type AccountState = MachineState<AccountValue, AccountContext>;

export function newAccountContext(address: string): AccountContext {
  return { address, availableSats: 0, heldSats: 0, depositPendingSats: 0, payoutPendingSats: 0 };
}

const amountOf = (event: AccountEvent): number => ('amountSats' in event ? event.amountSats : 0);

type Guard = 'availableCovers' | 'heldCovers' | 'depositPendingCovers' | 'payoutPendingCovers';
type Update =
  | 'hold'
  | 'release'
  | 'settle'
  | 'credit'
  | 'depositSeen'
  | 'depositConfirmed'
  | 'depositDropped'
  | 'depositReversed'
  | 'payoutRequest'
  | 'payoutSent'
  | 'payoutFailed';
type Candidates = readonly TransitionSpec<AccountValue, Guard, Update>[];

/** Money that keeps flowing in both states. */
const OWED_FLOWS: { readonly [K in AccountMoneyEventType]?: Candidates } = {
  RELEASE: [{ guard: 'heldCovers', actions: ['release'] }],
  SETTLE: [{ guard: 'heldCovers', actions: ['settle'] }],
  CREDIT: [{ actions: ['credit'] }],
  DEPOSIT_SEEN: [{ actions: ['depositSeen'] }],
  DEPOSIT_CONFIRMED: [{ guard: 'depositPendingCovers', actions: ['depositConfirmed'] }],
  DEPOSIT_DROPPED: [{ guard: 'depositPendingCovers', actions: ['depositDropped'] }],
  DEPOSIT_REVERSED: [{ actions: ['depositReversed'] }],
  PAYOUT_SENT: [{ guard: 'payoutPendingCovers', actions: ['payoutSent'] }],
  PAYOUT_FAILED: [{ guard: 'payoutPendingCovers', actions: ['payoutFailed'] }],
};

export const accountMachine = defineFlatMachine({
  id: 'account',
  initial: 'active' as AccountValue,
  context: (address: string): AccountContext => newAccountContext(address),
  guards: {
    availableCovers: (context: AccountContext, event: AccountEvent) => context.availableSats >= amountOf(event),
    heldCovers: (context: AccountContext, event: AccountEvent) => context.heldSats >= amountOf(event),
    depositPendingCovers: (context: AccountContext, event: AccountEvent) =>
      context.depositPendingSats >= amountOf(event),
    payoutPendingCovers: (context: AccountContext, event: AccountEvent) =>
      context.payoutPendingSats >= amountOf(event),
  },
  updates: {
    hold: (c: AccountContext, e: AccountEvent) => ({
      ...c,
      availableSats: c.availableSats - amountOf(e),
      heldSats: c.heldSats + amountOf(e),
    }),
    release: (c: AccountContext, e: AccountEvent) => ({
      ...c,
      heldSats: c.heldSats - amountOf(e),
      availableSats: c.availableSats + amountOf(e),
    }),
    settle: (c: AccountContext, e: AccountEvent) => ({ ...c, heldSats: c.heldSats - amountOf(e) }),
    credit: (c: AccountContext, e: AccountEvent) => ({ ...c, availableSats: c.availableSats + amountOf(e) }),
    depositSeen: (c: AccountContext, e: AccountEvent) => ({ ...c, depositPendingSats: c.depositPendingSats + amountOf(e) }),
    depositConfirmed: (c: AccountContext, e: AccountEvent) => ({
      ...c,
      depositPendingSats: c.depositPendingSats - amountOf(e),
      availableSats: c.availableSats + amountOf(e),
    }),
    depositDropped: (c: AccountContext, e: AccountEvent) => ({ ...c, depositPendingSats: c.depositPendingSats - amountOf(e) }),
    depositReversed: (c: AccountContext, e: AccountEvent) => ({ ...c, availableSats: c.availableSats - amountOf(e) }),
    payoutRequest: (c: AccountContext, e: AccountEvent) => ({
      ...c,
      availableSats: c.availableSats - amountOf(e),
      payoutPendingSats: c.payoutPendingSats + amountOf(e),
    }),
    payoutSent: (c: AccountContext, e: AccountEvent) => ({ ...c, payoutPendingSats: c.payoutPendingSats - amountOf(e) }),
    payoutFailed: (c: AccountContext, e: AccountEvent) => ({
      ...c,
      payoutPendingSats: c.payoutPendingSats - amountOf(e),
      availableSats: c.availableSats + amountOf(e),
    }),
  },
  states: {
    active: {
      on: {
        ...OWED_FLOWS,
        HOLD: [{ guard: 'availableCovers', actions: ['hold'] }],
        PAYOUT_REQUEST: [{ guard: 'availableCovers', actions: ['payoutRequest'] }],
        FREEZE: [{ target: 'frozen' }],
      },
    },
    frozen: {
      on: {
        ...OWED_FLOWS,
        UNFREEZE: [{ target: 'active' }],
      },
    },
  },
});
