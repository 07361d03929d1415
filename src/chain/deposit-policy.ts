// What the exchange should record about its deposits, given what the chain shows now: a pure
// function from (the backend's payments to deposit addresses, its tip, the deposits the core
// has journalled) to core commands. It keeps no memory of its own, so replaying the same blocks
// changes nothing, a watcher that was down catches up in one pass, and a reorg is just a chain
// that now shows something else. Rules (docs/payments.md, "Confirmations and reorgs"):
// - an output paying a deposit address is a deposit, named by its outpoint `txid:vout`;
// - seen in the mempool or a block: recorded, not spendable (whatever its RBF signalling);
// - credited at N confirmations (N larger above a threshold amount), keeping its block;
// - a pending deposit that disappears (replaced, double-spent, reorged out) is dropped;
// - a credited one whose block left the best chain is moved when the output is confirmed deeply
//   enough elsewhere, else reversed (and seen again from scratch if it is still around);
// - final at F confirmations: no longer watched.
import { DEPOSIT_SATS_MIN } from '../market/limits.js';
import type { UntimedCommand } from '../market/commands.js';
import type { DepositSnapshot } from '../market/state.js';
import type { ChainBlockRef, ChainPayment } from './backend.js';

export interface ConfirmationPolicy {
  /** Confirmations before a deposit is credited (spendable). */
  readonly confirmations: number;
  /** Confirmations for deposits of at least `largeSats`. */
  readonly largeConfirmations: number;
  readonly largeSats: number;
  /** Confirmations after which a credited deposit is final and no longer re-checked. */
  readonly finalConfirmations: number;
}

export const DEFAULT_CONFIRMATION_POLICY: ConfirmationPolicy = {
  confirmations: 3,
  largeConfirmations: 6,
  largeSats: 10_000_000, // 0.1 BTC
  finalConfirmations: 100,
};

/** A policy's problem in words, or null when it is usable. */
export function policyProblem(policy: ConfirmationPolicy): string | null {
  const { confirmations, largeConfirmations, largeSats, finalConfirmations } = policy;
  if (!Number.isSafeInteger(confirmations) || confirmations < 1) return 'confirmations must be a whole number ≥ 1';
  if (!Number.isSafeInteger(largeConfirmations) || largeConfirmations < confirmations) return 'confirmations for large deposits must be a whole number ≥ the confirmations';
  if (!Number.isSafeInteger(largeSats) || largeSats < 1) return 'the large-deposit threshold must be a positive whole number of satoshis';
  if (!Number.isSafeInteger(finalConfirmations) || finalConfirmations <= largeConfirmations) return 'final confirmations must be more than the confirmations for large deposits';
  return null;
}

export function confirmationsNeeded(policy: ConfirmationPolicy, amountSats: number): number {
  return amountSats >= policy.largeSats ? policy.largeConfirmations : policy.confirmations;
}

export function confirmationsOf(tip: ChainBlockRef, block: ChainBlockRef | null): number {
  return block === null ? 0 : Math.max(0, tip.height - block.height + 1);
}

export function outpointOf(payment: Pick<ChainPayment, 'txid' | 'vout'>): string {
  return `${payment.txid}:${payment.vout}`;
}

export interface ChainView {
  readonly tip: ChainBlockRef;
  /** The backend's payments to the watched addresses (duplicates allowed; the first counts). */
  readonly payments: readonly ChainPayment[];
  /** Blocks of credited deposits that the backend says are no longer in the best chain. */
  readonly staleBlocks: ReadonlySet<string>;
}

export interface LedgerView {
  /** Pending and credited deposits the core holds, by outpoint. */
  readonly deposits: ReadonlyMap<string, DepositSnapshot>;
  /** Final or too-small outpoints: never counted again. */
  isClosed(depositId: string): boolean;
}

/**
 * The commands that bring the ledger in line with the chain, in a fixed order (by outpoint).
 * Applying them and asking again gives at most the commands of a deposit that was reversed and
 * is still on chain (it is seen afresh); a third pass gives none.
 */
export function depositCommands(chain: ChainView, ledger: LedgerView, policy: ConfirmationPolicy): UntimedCommand[] {
  const commands: UntimedCommand[] = [];
  const onChain = new Map<string, ChainPayment>();
  for (const payment of chain.payments) {
    const id = outpointOf(payment);
    if (!onChain.has(id)) onChain.set(id, payment);
  }
  for (const id of [...onChain.keys()].sort()) {
    if (ledger.isClosed(id)) continue;
    const payment = onChain.get(id)!;
    const confirmations = confirmationsOf(chain.tip, payment.block);
    const enough = confirmations >= confirmationsNeeded(policy, payment.valueSats);
    const recorded = ledger.deposits.get(id);
    if (recorded === undefined) {
      commands.push({ type: 'depositSeen', depositId: id, address: payment.address, amountSats: payment.valueSats });
      if (enough && payment.valueSats >= DEPOSIT_SATS_MIN) commands.push({ type: 'depositConfirmed', depositId: id, block: blockOf(payment.block!) });
    } else if (recorded.block === null) {
      if (enough) commands.push({ type: 'depositConfirmed', depositId: id, block: blockOf(payment.block!) });
    } else if (payment.block !== null && payment.block.hash === recorded.block.hash) {
      if (confirmations >= policy.finalConfirmations) commands.push({ type: 'depositFinal', depositId: id });
    } else if (enough) {
      commands.push({ type: 'depositMoved', depositId: id, block: blockOf(payment.block!) });
    } else {
      commands.push({ type: 'depositReversed', depositId: id });
    }
  }
  for (const [id, recorded] of [...ledger.deposits].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (onChain.has(id)) continue;
    if (recorded.block === null) commands.push({ type: 'depositDropped', depositId: id });
    // A credit is taken back only when its block is known to have left the best chain, never
    // because one answer lacked the payment (a backend's gap must not cost anyone money).
    else if (chain.staleBlocks.has(recorded.block.hash)) commands.push({ type: 'depositReversed', depositId: id });
  }
  return commands;
}

/** Credited deposits missing from the chain view: their blocks need an in-best-chain check. */
export function blocksToCheck(payments: readonly ChainPayment[], ledger: LedgerView): string[] {
  const present = new Set(payments.map(outpointOf));
  const blocks = new Set<string>();
  for (const [id, recorded] of ledger.deposits) if (recorded.block !== null && !present.has(id)) blocks.add(recorded.block.hash);
  return [...blocks].sort();
}

function blockOf(block: ChainBlockRef): { height: number; hash: string } {
  return { height: block.height, hash: block.hash };
}

/** What the account view shows per deposit: the watcher's reading of the chain with the ledger's state. */
export type DepositStatus = 'seen' | 'confirming' | 'credited' | 'too_small';

export interface DepositView {
  readonly depositId: string;
  readonly address: string;
  readonly amountSats: number;
  readonly status: DepositStatus;
  readonly confirmations: number;
  /** Confirmations needed for the credit. */
  readonly needed: number;
}

/** `recorded`: the ledger's live deposit of this outpoint, if any; `closed`: whether it is final (or was too small). */
export function depositViewOf(payment: ChainPayment, tip: ChainBlockRef, recorded: DepositSnapshot | undefined, closed: boolean, policy: ConfirmationPolicy): DepositView {
  const confirmations = confirmationsOf(tip, payment.block);
  const status: DepositStatus = payment.valueSats < DEPOSIT_SATS_MIN
    ? 'too_small'
    : recorded?.block != null || (recorded === undefined && closed)
      ? 'credited'
      : confirmations === 0 ? 'seen' : 'confirming';
  return { depositId: outpointOf(payment), address: payment.address, amountSats: payment.valueSats, status, confirmations, needed: confirmationsNeeded(policy, payment.valueSats) };
}
