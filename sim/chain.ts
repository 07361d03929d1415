// The simulation's Bitcoin chain (scenario `funding: 'chain'`): the project's devnet on the
// kernel's virtual clock, a block every 10 minutes, with the production deposit watcher and rules
// running inside the simulated exchange (sim/exchange-host.ts). Buyers are funded as users are:
// a deposit address each, payments from the devnet's faucet (real signed transactions, 100
// outputs each), credit after the confirmations. The chain fault: a deep reorg that double-spends
// one funding transaction after its credit, so its buyers' credits are reversed while they trade
// (accounts overdrawn and frozen, their running transactions still settling).
import { HDKey } from '@scure/bip32';
import { sha256 } from '@noble/hashes/sha2.js';
import { accountXpub, newPayerKey, type PayerKey } from '../src/chain/payer-agent.js';
import { floatAddress } from '../src/chain/payout-processor.js';
import type { Clock } from '../src/clock.js';
import { depositAddress, parseDepositKey, type DepositKey } from '../src/chain/deposit-keys.js';
import { DEFAULT_CONFIRMATION_POLICY } from '../src/chain/deposit-policy.js';
import { Devnet } from '../src/chain/devnet.js';
import type { Exchange } from '../src/server/exchange.js';
import type { Prng } from '../src/random.js';

export const BLOCK_INTERVAL_MS = 10 * 60_000;
/** Outputs per funding transaction (one per buyer). */
const OUTPUTS_PER_TX = 100;
/** A coinbase's 50 regtest BTC in satoshis, with a margin for the halving and fees. */
const SPENDABLE_PER_COINBASE_SATS = 20 * 100_000_000;

/** The operator's float: its own coins that pay the payouts' network fees. */
const FLOAT_SATS = 100_000_000;

export class SimChain {
  readonly devnet: Devnet;
  readonly key: DepositKey;
  /** The payer's key (the operator's wallet, which the simulated payer signs with). */
  readonly payerKey: PayerKey;
  /** Where withdrawals go: one fresh address of the participants' own wallets per withdrawal. */
  private readonly destinations: DepositKey;
  /** Funding transactions not yet chosen for a double spend. */
  private readonly funding: string[] = [];
  reorgs = 0;

  constructor(seed: number, readonly clock: Clock, fundingSats: number) {
    // Enough mature coinbases for every payment: each one beyond the first 101 blocks matures one more.
    const extra = Math.ceil((fundingSats + FLOAT_SATS) / SPENDABLE_PER_COINBASE_SATS) + 1;
    this.devnet = new Devnet({ seed: `sim-${seed}`, now: () => clock.now(), initialBlocks: 101 + extra });
    this.payerKey = newPayerKey('regtest', sha256(new TextEncoder().encode(`bitwrk-sim-operator-${seed}`)));
    this.key = parseDepositKey(accountXpub(this.payerKey), 'regtest');
    const wallets = HDKey.fromMasterSeed(sha256(new TextEncoder().encode(`bitwrk-sim-participants-${seed}`)), { private: 0x04358394, public: 0x043587cf }).derive("m/84'/1'/0'");
    this.destinations = parseDepositKey(wallets.publicExtendedKey, 'regtest');
  }

  /**
   * Gives each participant a deposit address (through the exchange's command path, as the signed
   * request would) and pays it `amountSats` from the faucet; mines the blocks the credit needs.
   * Returns once the payments are on chain; the watcher credits them at its next poll.
   */
  async fund(exchange: () => Exchange, participants: readonly string[], amountSats: number): Promise<void> {
    const addresses: string[] = [];
    this.devnet.faucet.pay(floatAddress(this.key), FLOAT_SATS);
    for (const participant of participants) {
      const core = exchange().core;
      const index = core.funds.nextDepositIndex();
      const address = depositAddress(this.key, index);
      await exchange().execute(undefined, (nowMs) => ({ type: 'requestDepositAddress', nowMs, participant, index, address }));
      addresses.push(address);
    }
    for (let first = 0; first < addresses.length; first += OUTPUTS_PER_TX) {
      const outputs = addresses.slice(first, first + OUTPUTS_PER_TX).map((address) => ({ address, amountSats }));
      const txid = this.devnet.faucet.pay(outputs[0]!.address, amountSats, { outputs: outputs.slice(1) });
      this.devnet.mine(1); // also matures the faucet's change for the next payment
      this.funding.push(txid);
    }
    this.devnet.mine(DEFAULT_CONFIRMATION_POLICY.largeConfirmations);
  }

  /** The destination of the n-th withdrawal (each one its own address, so each payment is seen apart). */
  destination(n: number): string {
    return depositAddress(this.destinations, n);
  }

  startMining(clock: Clock): void {
    this.devnet.startMining(clock, BLOCK_INTERVAL_MS);
  }

  /**
   * The fault: a reorg deep enough to take out one funding transaction's block, whose new branch
   * double-spends it. Only funding not yet final is chosen (a final deposit is no longer watched).
   */
  reorgAway(prng: Prng): void {
    const tip = this.devnet.tip().height;
    // Still confirmed (a double spend also takes out later funding that spent its change), not yet final.
    const heightOf = (txid: string): number | undefined => {
      const status = this.devnet.transaction(txid)?.status;
      return status?.confirmed === true ? status.blockHeight : undefined;
    };
    const open = this.funding.filter((txid) => {
      const height = heightOf(txid);
      return height !== undefined && tip - height + 1 < DEFAULT_CONFIRMATION_POLICY.finalConfirmations;
    });
    if (open.length === 0) return;
    const victim = open[prng.nextInt(open.length)]!;
    this.funding.splice(this.funding.indexOf(victim), 1);
    this.devnet.reorg(tip - heightOf(victim)! + 1, { doubleSpend: [victim] });
    this.reorgs += 1;
  }

  stop(): void {
    this.devnet.stopMining();
  }
}
