// The devnet's faucet: one P2WPKH key derived from the devnet's seed (BIP32 m/84'/1'/0'/0/0), paid
// by every coinbase unless a block names another address. It builds, signs (@scure/btc-signer,
// deterministic RFC 6979 signatures) and submits real transactions, so what the exchange sees is
// what a wallet would send: BIP125-signalling inputs, change back to the faucet, and conflicting
// replacements for RBF scenarios. It holds no state of its own: its coins are the chain's.
import { HDKey } from '@scure/bip32';
import { hex } from '@scure/base';
import { p2wpkh, Transaction } from '@scure/btc-signer';
import { assert } from '../assert.js';
import { INCREMENTAL_RELAY_SATS_PER_VBYTE } from './devnet-policy.js';
import { addressScript, DEVNET_NETWORK, dustThresholdSats, refuse, type DevnetTx, type DevnetTxOutput } from './devnet-tx.js';

export interface FaucetOutput {
  readonly address: string;
  readonly amountSats: number;
}

export interface FaucetPayOptions {
  /** Default 2 sat/vB. */
  readonly feeRateSatVb?: number;
  /** More outputs in the same transaction, after the first (the same address may appear again). */
  readonly outputs?: readonly FaucetOutput[];
}

export interface FaucetReplaceOptions {
  /** The replacement's payments; empty sends everything back to the faucet (a cancel). */
  readonly payTo: readonly FaucetOutput[];
  /** Exactly this rate; omitted, the least that BIP125's rules accept (at least the default rate). */
  readonly feeRateSatVb?: number;
}

export interface FaucetTransaction {
  readonly txid: string;
  readonly hex: string;
  readonly feeSats: number;
  readonly vsize: number;
}

export interface FaucetBalance {
  /** Mature confirmed coins and unconfirmed change that a payment may spend now. */
  readonly spendableSats: number;
  /** Coinbase rewards younger than 100 blocks. */
  readonly immatureSats: number;
}

export interface FaucetCoin {
  readonly txid: string;
  readonly vout: number;
  readonly valueSats: number;
}

/** What the faucet needs from its devnet. */
export interface FaucetHost {
  /** Coins paying `script` a new transaction may spend now, best first. */
  spendableCoins(script: Uint8Array): readonly FaucetCoin[];
  immatureSats(script: Uint8Array): number;
  mempoolTransaction(txid: string): { readonly tx: DevnetTx; readonly prevouts: readonly DevnetTxOutput[] } | undefined;
  /** What a transaction spending these outpoints would evict: their txids, total fee, highest fee rate. */
  replacementFloor(outpoints: readonly FaucetCoin[]): { readonly evicted: ReadonlySet<string>; readonly feeSats: number; readonly rate: { readonly feeSats: number; readonly vsize: number } };
  submit(raw: Uint8Array): string;
}

const DEFAULT_FEE_RATE_SAT_VB = 2;
const FEE_RATE_SAT_VB_MAX = 100_000;
const OUTPUTS_MAX = 2_500;
/** BIP125-signalling sequence (the devnet replaces regardless: full RBF). */
const SEQUENCE_RBF = 0xfffffffd;
const FEE_ROUNDS_MAX = 8;

export class Faucet {
  readonly address: string;
  readonly script: Uint8Array;
  private readonly privateKey: Uint8Array;

  constructor(private readonly host: FaucetHost, seed: Uint8Array) {
    const key = HDKey.fromMasterSeed(seed).derive("m/84'/1'/0'/0/0");
    assert(key.privateKey !== null && key.publicKey !== null, 'a derived key has both halves');
    const payment = p2wpkh(key.publicKey, DEVNET_NETWORK);
    assert(payment.address !== undefined, 'a P2WPKH key has an address');
    this.privateKey = key.privateKey;
    this.address = payment.address;
    this.script = payment.script;
  }

  balance(): FaucetBalance {
    const spendableSats = this.host.spendableCoins(this.script).reduce((sum, coin) => sum + coin.valueSats, 0);
    return { spendableSats, immatureSats: this.host.immatureSats(this.script) };
  }

  /** Pays `amountSats` to `address` (and `options.outputs` in the same transaction); returns the txid. */
  pay(address: string, amountSats: number, options: FaucetPayOptions = {}): string {
    const built = this.build([{ address, amountSats }, ...(options.outputs ?? [])], options.feeRateSatVb);
    return this.host.submit(hexToBytes(built.hex));
  }

  /** Builds and signs a payment without submitting it (to tamper with it in tests, or to send it later). */
  build(outputs: readonly FaucetOutput[], feeRateSatVb?: number): FaucetTransaction {
    if (outputs.length === 0) refuse('bad-request', 'a payment needs at least one output');
    const rate = checkedRate(feeRateSatVb);
    return this.compose(payments(outputs), [], this.host.spendableCoins(this.script), (vsize) => Math.ceil(rate * vsize));
  }

  /**
   * Replaces the faucet's mempool transaction `txid` with one spending the same inputs (plus more
   * of the faucet's coins if the payments need them) and paying `payTo`; returns the new txid.
   * What it evicts: the original and its mempool descendants.
   */
  replace(txid: string, options: FaucetReplaceOptions): string {
    const built = this.buildReplacement(txid, options);
    return this.host.submit(hexToBytes(built.hex));
  }

  buildReplacement(txid: string, options: FaucetReplaceOptions): FaucetTransaction {
    const original = this.host.mempoolTransaction(txid) ?? refuse('unknown-tx', `${txid} is not in the mempool`);
    if (!original.prevouts.every((prevout) => hex.encode(prevout.script) === hex.encode(this.script))) refuse('not-replaceable', `${txid} spends coins the faucet does not own`);
    const forced = original.tx.inputs.map((input, index) => ({ txid: input.txid, vout: input.vout, valueSats: original.prevouts[index]!.valueSats }));
    const floor = this.host.replacementFloor(forced);
    const candidates = this.host.spendableCoins(this.script).filter((coin) => !floor.evicted.has(coin.txid));
    const explicit = options.feeRateSatVb === undefined ? undefined : checkedRate(options.feeRateSatVb);
    const fee = (vsize: number): number => {
      if (explicit !== undefined) return Math.ceil(explicit * vsize);
      const aboveRate = Number((BigInt(floor.rate.feeSats) * BigInt(vsize)) / BigInt(Math.max(1, floor.rate.vsize))) + 1;
      return Math.max(Math.ceil(DEFAULT_FEE_RATE_SAT_VB * vsize), floor.feeSats + INCREMENTAL_RELAY_SATS_PER_VBYTE * vsize, aboveRate);
    };
    return this.compose(payments(options.payTo), forced, candidates, fee);
  }

  /**
   * Selects coins (the forced ones first, then candidates in order), adds change back to the faucet
   * unless it would be dust, signs, and repeats until the fee covers what `fee(vsize)` asks.
   */
  private compose(outputs: readonly DevnetTxOutput[], forced: readonly FaucetCoin[], candidates: readonly FaucetCoin[], fee: (vsize: number) => number): FaucetTransaction {
    const paySats = outputs.reduce((sum, output) => sum + output.valueSats, 0);
    const selected = [...forced];
    let next = 0;
    let feeSats = fee(11 + 68 * Math.max(1, selected.length) + 43 * (outputs.length + 1));
    for (let round = 0; round < FEE_ROUNDS_MAX; round++) {
      let inSats = selected.reduce((sum, coin) => sum + coin.valueSats, 0);
      while (inSats < paySats + feeSats || selected.length === 0) {
        const coin = candidates[next++] ?? refuse('no-funds', `the faucet cannot pay ${paySats} sats plus ${feeSats} fee from its spendable coins (mature coinbases, and unconfirmed change whose mempool chain has room); mining a block helps`);
        selected.push(coin);
        inSats += coin.valueSats;
      }
      const changeSats = inSats - paySats - feeSats;
      const withChange = changeSats >= dustThresholdSats(this.script);
      if (outputs.length === 0 && !withChange) refuse('no-funds', 'nothing would be left to send back to the faucet after the fee');
      const signed = this.sign(selected, withChange ? [...outputs, { script: this.script, valueSats: changeSats }] : outputs);
      const paidSats = inSats - paySats - (withChange ? changeSats : 0);
      const requiredSats = fee(signed.vsize);
      if (paidSats >= requiredSats) return { txid: signed.id, hex: signed.hex, feeSats: paidSats, vsize: signed.vsize };
      feeSats = requiredSats;
    }
    throw new Error('the fee did not settle'); // each round only raises it; 8 rounds are plenty
  }

  private sign(coins: readonly FaucetCoin[], outputs: readonly DevnetTxOutput[]): Transaction {
    const tx = new Transaction({ version: 2, lockTime: 0, allowUnknownOutputs: true });
    for (const coin of coins) tx.addInput({ txid: coin.txid, index: coin.vout, sequence: SEQUENCE_RBF, witnessUtxo: { script: this.script, amount: BigInt(coin.valueSats) } });
    for (const output of outputs) tx.addOutput({ script: output.script, amount: BigInt(output.valueSats) });
    tx.sign(this.privateKey);
    tx.finalize();
    return tx;
  }
}

function payments(outputs: readonly FaucetOutput[]): DevnetTxOutput[] {
  if (outputs.length > OUTPUTS_MAX) refuse('bad-request', `at most ${OUTPUTS_MAX} outputs in one payment`);
  return outputs.map((output, index) => {
    const script = addressScript(output.address);
    if (!Number.isSafeInteger(output.amountSats) || output.amountSats <= 0) refuse('bad-amount', `output ${index}: "amountSats" expected a positive whole number, got ${output.amountSats}`);
    const dust = dustThresholdSats(script);
    if (output.amountSats < dust) refuse('dust', `output ${index} pays ${output.amountSats} sats, below the dust threshold of ${dust} sats for its type`);
    return { script, valueSats: output.amountSats };
  });
}

function checkedRate(feeRateSatVb: number | undefined): number {
  if (feeRateSatVb === undefined) return DEFAULT_FEE_RATE_SAT_VB;
  if (!Number.isFinite(feeRateSatVb) || feeRateSatVb <= 0 || feeRateSatVb > FEE_RATE_SAT_VB_MAX) refuse('bad-request', `"feeRateSatVb" expected a rate in (0, ${FEE_RATE_SAT_VB_MAX}], got ${feeRateSatVb}`);
  return feeRateSatVb;
}

function hexToBytes(text: string): Uint8Array {
  return hex.decode(text);
}
