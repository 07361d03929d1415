// The exchange of a simulation: the production Exchange (signed commands, nonces, rate limits,
// journal before acknowledgement, pushes, snapshots, recovery) on an in-memory store, serving
// connections on the in-process network. A restart closes it, as a crash would lose its process,
// and opens a new one on the same store: it comes back from its snapshot and journal, and its
// state hash must be the one it had.
import { assert } from '../src/assert.js';
import type { Clock } from '../src/clock.js';
import type { ArticleSpec } from '../src/market/articles.js';
import type { CoreEvent } from '../src/market/commands.js';
import type { MarketCore } from '../src/market/core.js';
import { hashMarketState } from '../src/market/state.js';
import { Exchange } from '../src/server/exchange.js';
import { Journal } from '../src/store/journal.js';
import { MemoryStore } from '../src/store/memory.js';
import type { MessageVerifier } from '../src/crypto/verifier.js';
import type { MemoryNetwork } from '../src/transport/memory.js';
import { standInVerifier } from './identities.js';
import type { ChainBackend } from '../src/chain/backend.js';
import type { DepositKey } from '../src/chain/deposit-keys.js';
import { DepositWatcher } from '../src/chain/deposit-watcher.js';
import { exchangeDepositPort } from '../src/server/deposit-port.js';
import { exchangePayoutPort } from '../src/server/payout-port.js';
import { PayoutProcessor } from '../src/chain/payout-processor.js';
import { signBatch } from '../src/chain/payer.js';
import type { PayerKey } from '../src/chain/payer-agent.js';
import type { TimerId } from '../src/clock.js';
import { InvariantViolation } from './auditor.js';

export const SIM_EXCHANGE_ID = 'bitwrk-sim';
export const EXCHANGE_ADDRESS = 'exchange:8090';

export interface SimExchangeOptions {
  readonly clock: Clock;
  readonly network: MemoryNetwork;
  readonly adminAddress: string;
  readonly articles: readonly ArticleSpec[];
  readonly onEvents: (events: readonly CoreEvent[]) => void;
  /** Lets pending promise chains finish (the kernel's settle). */
  readonly settle: () => Promise<void>;
  /** Test only, a planted bug: the exchange takes any receipt as the buyer's. */
  readonly acceptAnyReceipt?: boolean;
  /** Chain deposits: the production watcher polls this backend on the virtual clock. */
  readonly deposits?: { readonly key: DepositKey; readonly backend: ChainBackend; readonly pollMs: number };
  /** Chain payouts: the production processor on the virtual clock, and a payer signing with this key. */
  readonly payouts?: { readonly payerKey: PayerKey; readonly batchIntervalMs: number };
}

/** The planted bug's verifier: anything that looks like a receipt (64 hex digits signed) passes. */
const acceptingAnyReceipt: MessageVerifier = {
  ...standInVerifier,
  verify: (message, address, signature) => (typeof message === 'string' && /^[0-9a-f]{64}$/.test(message)) || standInVerifier.verify(message, address, signature),
};

export class SimExchange {
  exchange: Exchange | undefined;
  restarts = 0;
  private readonly store = new MemoryStore();
  private journal: Journal | undefined;
  private stopListening: (() => void) | undefined;
  watcher: DepositWatcher | undefined;
  processor: PayoutProcessor | undefined;
  private payerTimer: TimerId | undefined;
  /** What the payout processor raised for the operator, over all starts. */
  readonly payoutAlerts: string[] = [];

  constructor(private readonly options: SimExchangeOptions) {}

  /** Records in the journal (every accepted command and state-changing tick). */
  get journalRecords(): number {
    return this.journal?.lastSequence ?? 0;
  }

  get running(): Exchange {
    assert(this.exchange !== undefined, 'the exchange is down');
    return this.exchange;
  }

  async start(): Promise<void> {
    assert(this.exchange === undefined, 'the exchange is already up');
    const { options } = this;
    this.journal = await Journal.open(this.store);
    this.exchange = await Exchange.open({
      clock: options.clock,
      store: this.store,
      journal: this.journal,
      exchangeId: SIM_EXCHANGE_ID,
      network: 'testnet',
      adminAddress: options.adminAddress,
      initialArticles: options.articles,
      verifier: options.acceptAnyReceipt === true ? acceptingAnyReceipt : standInVerifier,
      // Agents pipeline little; the limit would only slow the admin's crediting at the start.
      identityRate: { perSecond: 100_000, burst: 200_000 },
      snapshotEveryRecords: 20_000,
      onEvents: options.onEvents,
      ...(options.deposits === undefined ? {} : { depositKey: options.deposits.key }),
    });
    const exchange = this.exchange;
    if (options.deposits !== undefined) {
      // A new watcher for each start: it keeps no state, the journal has it all.
      const watcher = new DepositWatcher(options.deposits.backend, exchangeDepositPort(exchange), { onAlert: () => undefined });
      exchange.depositWatcher = watcher;
      watcher.start(options.clock, options.deposits.pollMs);
      this.watcher = watcher;
      if (options.payouts !== undefined) this.startPayouts(exchange, options.deposits, options.payouts);
    }
    this.stopListening = options.network.listen(EXCHANGE_ADDRESS, (connection) => exchange.accept(connection));
  }

  /** A new processor for each start (it keeps no state: the journal has the batches), and the payer beside it. */
  private startPayouts(exchange: Exchange, deposits: NonNullable<SimExchangeOptions['deposits']>, payouts: NonNullable<SimExchangeOptions['payouts']>): void {
    const { clock } = this.options;
    const processor = new PayoutProcessor({
      key: deposits.key, backend: deposits.backend, port: exchangePayoutPort(exchange), clock,
      batchIntervalMs: payouts.batchIntervalMs, confirmations: 3, depositCoinConfirmations: 3,
      onAlert: (message) => this.payoutAlerts.push(message),
    });
    exchange.payoutProcessor = processor;
    processor.start(deposits.pollMs);
    this.processor = processor;
    // The payer: signs what waits (its policy generous: the processor's refusals are what the run tests).
    const sign = (): void => {
      this.payerTimer = clock.setTimer(() => {
        for (const batch of processor.toSign()) {
          try {
            const signed = signBatch({ accountXprv: payouts.payerKey.accountXprv, network: 'regtest', psbtBase64: batch.psbtBase64, manifest: batch.manifest, policy: { feeCapSats: 1_000_000, dailyLimitSats: Number.MAX_SAFE_INTEGER }, signedTodaySats: 0 });
            void processor.submitSigned(batch.batchId, signed.rawHex).catch((error: unknown) => this.payoutAlerts.push(`payer: ${(error as Error).message}`));
          } catch (error) {
            this.payoutAlerts.push(`payer refused ${batch.batchId}: ${(error as Error).message}`);
          }
        }
        sign();
      }, deposits.pollMs);
    };
    sign();
  }

  /** Goes down (connections cut, nothing new accepted) once every accepted command is durable; returns its state hash. */
  async stop(): Promise<string> {
    const exchange = this.running;
    this.watcher?.stop();
    this.processor?.stop();
    if (this.payerTimer !== undefined) this.options.clock.clearTimer(this.payerTimer);
    this.payerTimer = undefined;
    this.stopListening?.();
    await exchange.close();
    for (let turns = 0; this.journal!.lastDurableSequence !== this.journal!.lastSequence; turns++) {
      assert(turns < 1000, 'the journal never caught up');
      await this.options.settle();
    }
    this.exchange = undefined;
    return acknowledgedStateHash(exchange.core);
  }

  /** Stops and starts again from the store; the recovered state must hash as the stopped one did. */
  async restart(downtime: () => Promise<void>): Promise<void> {
    const before = await this.stop();
    await downtime();
    await this.start();
    const after = acknowledgedStateHash(this.running.core);
    if (after !== before) throw new InvariantViolation(`the exchange came back from its journal in another state (${after.slice(0, 12)} after, ${before.slice(0, 12)} before)`);
    this.restarts++;
  }
}

/**
 * The hash of what the exchange acknowledged: its whole state except the core's clock, which moves
 * on ticks that change nothing else (those are not journalled, so a recovered core's clock may be
 * behind; the exchange runs on the later of its clock and the core's).
 */
function acknowledgedStateHash(core: MarketCore): string {
  return hashMarketState({ ...core.exportState(), nowMs: 0 });
}
