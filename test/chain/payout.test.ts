// Goal: a batch of withdrawals is paid on chain exactly, with no private key on the exchange: the
// exchange builds a PSBT (bitcoinjs-lib) from its wallet's coins and a manifest, the payer signs
// it (@scure/btc-signer, its own key) only when it matches the manifest and its policy, the
// exchange checks the signed transaction against the PSBT and records its txid before the
// broadcast, the devnet (which verifies every signature) accepts it, and the withdrawals move
// through their machine to completed with the money leaving the ledger. The payer refuses a
// changed output, a foreign input, a change address not its own, a fee over its cap, and more
// than its daily limit. Method: a devnet and a MarketCore, real transactions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HDKey } from '@scure/bip32';
import { chainAddress, depositAddress, parseDepositKey } from '../../src/chain/deposit-keys.js';
import { Devnet } from '../../src/chain/devnet.js';
import { BatchError, buildBatch, verifySignedBatch, type WalletCoin } from '../../src/chain/payout-batch.js';
import { PayerRefusal, signBatch } from '../../src/chain/payer.js';
import type { MarketCommand, UntimedCommand } from '../../src/market/commands.js';
import { MarketCore } from '../../src/market/core.js';
import { verifyReceipt } from '../market/support/participants.js';

const TESTNET = { private: 0x04358394, public: 0x043587cf };
const account = HDKey.fromMasterSeed(new Uint8Array(32).fill(21), TESTNET).derive("m/84'/1'/0'");
const ACCOUNT_TPRV = account.privateExtendedKey;
const key = parseDepositKey(account.publicExtendedKey, 'regtest');
const POLICY = { feeCapSats: 5_000, dailyLimitSats: 1_000_000 };
const ALICE_DEST = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
const BOB_DEST = 'bcrt1qzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs2ns5wu'; // P2WSH

function fundedWallet(): { devnet: Devnet; coins: WalletCoin[] } {
  const devnet = new Devnet({ seed: 21 });
  devnet.faucet.pay(depositAddress(key, 0), 100_000, { outputs: [{ address: depositAddress(key, 1), amountSats: 60_000 }] });
  devnet.mine(3);
  const coins = [0, 1].flatMap((index) => devnet.addressUtxos(depositAddress(key, index)).map((utxo) => ({ txid: utxo.txid, vout: utxo.vout, valueSats: utxo.valueSats, chain: 0 as const, index })));
  return { devnet, coins };
}

const WITHDRAWALS = [
  { withdrawalId: 'w1', destination: ALICE_DEST, amountSats: 70_000 },
  { withdrawalId: 'w2', destination: BOB_DEST, amountSats: 50_000 },
];

test('a batch built by the exchange, signed by the payer, checked and broadcast pays each withdrawal exactly; the withdrawals complete', async () => {
  const { devnet, coins } = fundedWallet();
  const core = new MarketCore({ verifyReceipt }, { startMs: 0 });
  const run = (command: UntimedCommand) => {
    const result = core.execute({ nowMs: 0, ...command } as MarketCommand);
    assert.equal(result.status, 'accepted', `${command.type}: ${result.status === 'rejected' ? result.rejection : ''}`);
  };
  for (const [who, w] of [['alice', WITHDRAWALS[0]!], ['bob', WITHDRAWALS[1]!]] as const) {
    run({ type: 'credit', participant: who, amountSats: 100_000 });
    run({ type: 'requestWithdrawal', participant: who, key: `k-${who}`, destination: w.destination, amountSats: w.amountSats });
  }
  const ids = ['w1', 'w2'];
  const step = (step: object) => { for (const withdrawalId of ids) run({ type: 'withdrawalStep', withdrawalId, step: step as never }); };
  step({ type: 'APPROVE', by: 'processor', nowMs: 0 });
  const built = buildBatch({ key, batchId: 'batch-1', withdrawals: WITHDRAWALS, coins, feeRateSatVb: 2, changeIndex: 0 });
  step({ type: 'BATCH', batchId: 'batch-1' });
  const signed = signBatch({ accountXprv: ACCOUNT_TPRV, network: 'regtest', psbtBase64: built.psbtBase64, manifest: built.manifest, policy: POLICY, signedTodaySats: 0 });
  const txid = verifySignedBatch(signed.rawHex, built.psbtBase64);
  assert.equal(txid, signed.txid);
  step({ type: 'SIGN', txid }); // recorded before anything is sent
  assert.equal(devnet.broadcast(signed.rawHex), txid, 'the devnet verified every signature and took it');
  step({ type: 'BROADCAST' });
  devnet.mine(3);
  const status = devnet.transaction(txid)!.status;
  assert.ok(status.confirmed);
  step({ type: 'CONFIRM', txid, block: { height: status.blockHeight, hash: status.blockHash } });
  step({ type: 'COMPLETE' });
  assert.deepEqual(devnet.addressUtxos(ALICE_DEST).map((u) => u.valueSats), [70_000]);
  assert.deepEqual(devnet.addressUtxos(BOB_DEST).map((u) => u.valueSats), [50_000]);
  assert.deepEqual(devnet.addressUtxos(chainAddress(key, 1, 0)).map((u) => u.valueSats), [built.manifest.change.amountSats], 'the change came back to the account');
  assert.equal(built.manifest.change.amountSats, 160_000 - 120_000 - built.manifest.feeSats);
  assert.deepEqual([core.account('alice')?.availableSats, core.account('alice')?.payoutPendingSats], [30_000, 0]);
  assert.deepEqual(core.funds.withdrawalsOf('alice'), []);
  core.checkInvariants();
});

test('the payer refuses what its manifest and policy do not allow, saying why; the exchange refuses a signed batch that is not its PSBT', () => {
  const { coins } = fundedWallet();
  const built = buildBatch({ key, batchId: 'batch-2', withdrawals: WITHDRAWALS, coins, feeRateSatVb: 2, changeIndex: 1 });
  const sign = (overrides: Partial<Parameters<typeof signBatch>[0]>) => () => signBatch({ accountXprv: ACCOUNT_TPRV, network: 'regtest', psbtBase64: built.psbtBase64, manifest: built.manifest, policy: POLICY, signedTodaySats: 0, ...overrides });
  assert.throws(sign({ manifest: { ...built.manifest, outputs: [{ ...built.manifest.outputs[0]!, amountSats: 70_001 }, built.manifest.outputs[1]!] } }), (error: unknown) => error instanceof PayerRefusal && /output 0 is not 70001 sat/.test(error.message));
  assert.throws(sign({ manifest: { ...built.manifest, change: { index: 7, amountSats: built.manifest.change.amountSats } } }), /change is not .* change address 1\/7/);
  assert.throws(sign({ policy: { ...POLICY, feeCapSats: built.manifest.feeSats - 1 } }), /over the cap/);
  assert.throws(sign({ signedTodaySats: 950_000 }), /daily limit/);
  const stranger = HDKey.fromMasterSeed(new Uint8Array(32).fill(22), TESTNET).derive("m/84'/1'/0'");
  assert.throws(sign({ accountXprv: stranger.privateExtendedKey }), /derived from another key/);
  // A PSBT whose outputs the exchange changed after the manifest: refused.
  const other = buildBatch({ key, batchId: 'batch-3', withdrawals: [WITHDRAWALS[0]!, { ...WITHDRAWALS[1]!, destination: ALICE_DEST }], coins, feeRateSatVb: 2, changeIndex: 1 });
  assert.throws(sign({ psbtBase64: other.psbtBase64 }), /output 1 is not 50000 sat/);
  // The exchange's check: a transaction signed for another PSBT is not broadcast.
  const signedOther = signBatch({ accountXprv: ACCOUNT_TPRV, network: 'regtest', psbtBase64: other.psbtBase64, manifest: other.manifest, policy: POLICY, signedTodaySats: 0 });
  assert.throws(() => verifySignedBatch(signedOther.rawHex, built.psbtBase64), (error: unknown) => error instanceof BatchError && /output 1 is not the PSBT's/.test(error.message));
  assert.throws(() => buildBatch({ key, batchId: 'batch-4', withdrawals: [{ withdrawalId: 'w9', destination: ALICE_DEST, amountSats: 159_000 }], coins, feeRateSatVb: 2, changeIndex: 1 }), /short of/);
});
