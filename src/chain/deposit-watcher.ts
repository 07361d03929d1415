// The deposit watcher: polls a ChainBackend and journals what deposit-policy.ts says the chain
// now shows (each record a command on the exchange, so credits and reversals replay on recovery
// and reach the auditor and the participant's events). One poll at a time; a poll that fails
// (the backend is down or answered nonsense) changes nothing and is retried at the next tick.
import type { Clock, TimerId } from '../clock.js';
import type { CoreEvent, UntimedCommand } from '../market/commands.js';
import type { ChainBackend, ChainBlockRef, ChainPayment } from './backend.js';
import { blocksToCheck, depositCommands, depositViewOf, DEFAULT_CONFIRMATION_POLICY, outpointOf } from './deposit-policy.js';
import type { DepositSnapshot } from '../market/state.js';
import type { ConfirmationPolicy, DepositView, LedgerView } from './deposit-policy.js';

/** What the watcher needs of the exchange. */
export interface DepositLedgerPort {
  /** Every reserved deposit address. */
  watchedAddresses(): readonly string[];
  /** The participant an address was reserved for. */
  ownerOf(address: string): string | undefined;
  ledger(): LedgerView;
  /** One live deposit by outpoint, and whether an outpoint is closed (O(1): the account query's path). */
  deposit(depositId: string): DepositSnapshot | undefined;
  isClosed(depositId: string): boolean;
  /** Journals one command; resolves with the core's events, rejects with the exchange's refusal. */
  record(command: UntimedCommand): Promise<readonly CoreEvent[]>;
}

export interface PollReport {
  readonly tip: ChainBlockRef;
  readonly payments: number;
  /** Commands journalled, by type. */
  readonly recorded: Readonly<Record<string, number>>;
  /** Commands the exchange refused (each also reported to onAlert). */
  readonly refused: number;
}

export interface DepositWatcherOptions {
  readonly policy?: ConfirmationPolicy;
  /** Told of anything an operator must look at: a refused record, a reversed credit, a failed poll. */
  readonly onAlert?: (message: string) => void;
  /** Told of every journalled command (for the playground's progress lines). */
  readonly onRecord?: (command: UntimedCommand) => void;
}

/** Passes per poll: a reversed deposit still on chain is seen again in the next pass. */
const PASSES_MAX = 3;

export class DepositWatcher {
  readonly policy: ConfirmationPolicy;
  private polling: Promise<PollReport> | undefined;
  private last: { tip: ChainBlockRef; byOwner: Map<string, ChainPayment[]> } | undefined;
  private timer: TimerId | undefined;
  private clock: Clock | undefined;
  private stopped = false;

  constructor(
    readonly backend: ChainBackend,
    private readonly port: DepositLedgerPort,
    private readonly options: DepositWatcherOptions = {},
  ) {
    this.policy = options.policy ?? DEFAULT_CONFIRMATION_POLICY;
  }

  /** Reads the chain once and records what changed; concurrent callers share one poll. */
  poll(): Promise<PollReport> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async pollOnce(): Promise<PollReport> {
    // The tip first: a block found meanwhile then counts one confirmation short, never one too many.
    const tip = await this.backend.tip();
    const payments = await this.backend.paymentsTo(this.port.watchedAddresses());
    let ledger = this.port.ledger();
    const staleBlocks = new Set<string>();
    for (const hash of blocksToCheck(payments, ledger)) if (!(await this.backend.blockInBestChain(hash))) staleBlocks.add(hash);
    const recorded: Record<string, number> = {};
    let refused = 0;
    for (let pass = 0; pass < PASSES_MAX; pass++) {
      const commands = depositCommands({ tip, payments, staleBlocks }, ledger, this.policy);
      if (commands.length === 0) break;
      // All at once: the exchange applies them in this order as they are called, and their
      // journal writes share flushes (group commit) instead of one flush each.
      const outcomes = await Promise.allSettled(commands.map((command) => this.port.record(command)));
      outcomes.forEach((outcome, index) => {
        const command = commands[index]!;
        if (outcome.status === 'rejected') {
          refused += 1;
          this.options.onAlert?.(`deposit watcher: the exchange refused ${command.type} ${'depositId' in command ? command.depositId : ''}: ${(outcome.reason as Error).message}`);
          return;
        }
        recorded[command.type] = (recorded[command.type] ?? 0) + 1;
        this.options.onRecord?.(command);
        if (command.type === 'depositReversed') this.options.onAlert?.(`deposit ${command.depositId}: its block left the best chain after the credit; the credit was reversed`);
        for (const event of outcome.value) {
          if (event.type === 'accountOverdrawn') this.options.onAlert?.(`account ${event.participant} owes ${-event.availableSats} sat after a reversed deposit: frozen until repaid`);
        }
      });
      ledger = this.port.ledger();
    }
    this.last = { tip, byOwner: this.indexByOwner(payments) };
    return { tip, payments: payments.length, recorded, refused };
  }

  private indexByOwner(payments: readonly ChainPayment[]): Map<string, ChainPayment[]> {
    const byOwner = new Map<string, ChainPayment[]>();
    for (const payment of payments) {
      const owner = this.port.ownerOf(payment.address);
      if (owner === undefined) continue;
      let list = byOwner.get(owner);
      if (list === undefined) byOwner.set(owner, (list = []));
      list.push(payment);
    }
    return byOwner;
  }

  /** The participant's deposits as of the last poll (not final ones the chain no longer shows), newest first. */
  depositsOf(participant: string): { readonly tip: ChainBlockRef | null; readonly deposits: DepositView[] } {
    if (this.last === undefined) return { tip: null, deposits: [] };
    const { tip } = this.last;
    const payments = this.last.byOwner.get(participant) ?? [];
    const deposits = payments
      .map((payment) => {
        const id = outpointOf(payment);
        return depositViewOf(payment, tip, this.port.deposit(id), this.port.isClosed(id), this.policy);
      })
      .sort((a, b) => a.confirmations - b.confirmations);
    return { tip, deposits };
  }

  /** Polls every `intervalMs` on `clock` until stopped; failures go to onAlert and the next tick retries. */
  start(clock: Clock, intervalMs: number): void {
    this.clock = clock;
    this.stopped = false;
    const tick = (): void => {
      if (this.stopped) return;
      this.timer = clock.setTimer(() => {
        this.poll().then(tick, (error: unknown) => {
          this.options.onAlert?.(`deposit watcher: poll failed (${this.backend.name}): ${(error as Error).message}`);
          tick();
        });
      }, intervalMs);
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock?.clearTimer(this.timer);
    this.timer = undefined;
  }
}
