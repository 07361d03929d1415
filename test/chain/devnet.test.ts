// Goal: the devnet behaves like a regtest bitcoind where a deposit watcher can tell: real blocks and
// transactions, signatures checked (P2WPKH and P2TR key path), double spends, immature coinbases,
// RBF replacement, reorgs that drop or re-mine a deposit, and the same seed giving the same chain.
// Method: drive a Devnet in-process; sign the faucet's transactions with it and other spends with
// a small test wallet (@scure/bip32 keys, @scure/btc-signer signing); tamper with serialized bytes;
// check the blocks with an independent parser (bitcoinjs-lib).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256 } from '@noble/hashes/sha2.js';
import { hex } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { p2pkh, p2tr, p2wpkh, RawTx, Transaction } from '@scure/btc-signer';
import { Block } from 'bitcoinjs-lib';
import { VirtualClock } from '../../src/clock.js';
import { REGTEST_GENESIS_HASH } from '../../src/chain/devnet-block.js';
import { addressScript, DEVNET_NETWORK, parseTransaction } from '../../src/chain/devnet-tx.js';
import { Devnet, devnetBackend, DevnetRefusal, type DevnetRefusalCode } from '../../src/chain/devnet.js';

/** A test wallet's key: P2WPKH (BIP84 path) or P2TR (BIP86 path), from a name. */
function walletKey(name: string, type: 'p2wpkh' | 'p2tr'): { readonly key: HDKey; readonly address: string; readonly script: Uint8Array } {
  const key = HDKey.fromMasterSeed(sha256(new TextEncoder().encode(name))).derive(type === 'p2tr' ? "m/86'/1'/0'/0/0" : "m/84'/1'/0'/0/0");
  const payment = type === 'p2tr' ? p2tr(key.publicKey!.subarray(1), undefined, DEVNET_NETWORK) : p2wpkh(key.publicKey!, DEVNET_NETWORK);
  return { key, address: payment.address!, script: payment.script };
}

interface Coin {
  readonly txid: string;
  readonly vout: number;
  readonly valueSats: number;
}

/** Signs a spend of `coins` (all paying `wallet`) to `outputs`, the way a wallet would. */
function spend(wallet: ReturnType<typeof walletKey>, coins: readonly Coin[], outputs: ReadonlyArray<{ readonly address: string; readonly amountSats: number }>, lockTime = 0): string {
  const tx = new Transaction({ version: 2, lockTime, allowUnknownOutputs: true });
  const internalKey = wallet.key.publicKey!.subarray(1);
  for (const coin of coins) {
    tx.addInput({ txid: coin.txid, index: coin.vout, sequence: 0xfffffffd, witnessUtxo: { script: wallet.script, amount: BigInt(coin.valueSats) }, ...(wallet.script[0] === 0x51 ? { tapInternalKey: internalKey } : {}) });
  }
  for (const output of outputs) tx.addOutput({ script: addressScript(output.address), amount: BigInt(output.amountSats) });
  tx.sign(wallet.key.privateKey!, undefined, new Uint8Array(32)); // fixed aux randomness: deterministic Schnorr
  tx.finalize();
  return tx.hex;
}

/** The one output of `txid` paying `address`. */
function paymentOf(devnet: Devnet, txid: string, address: string): Coin {
  const payments = devnet.paymentsTo([address]).filter((payment) => payment.txid === txid);
  assert.equal(payments.length, 1);
  return payments[0]!;
}

function refusedWith(code: DevnetRefusalCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof DevnetRefusal, `expected a DevnetRefusal, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

/** Flips the lowest bit of the byte at `offset` (in bytes) of a hex string. */
function flipByte(rawHex: string, offset: number): string {
  const bytes = hex.decode(rawHex);
  bytes[offset]! ^= 0x01;
  return hex.encode(bytes);
}

const alice = walletKey('alice', 'p2wpkh');
const bob = walletKey('bob', 'p2wpkh');
const carol = walletKey('carol', 'p2tr');

test('a faucet payment enters the mempool, confirms in the next block and shows in the address history', () => {
  const devnet = new Devnet({ seed: 1 });
  assert.equal(devnet.tip().height, 101);
  assert.ok(devnet.faucet.balance().spendableSats >= 100 * 100_000_000, 'two mature 50 BTC coinbases');
  const txid = devnet.faucet.pay(alice.address, 150_000);
  assert.deepEqual(devnet.transaction(txid)!.status, { confirmed: false });
  assert.deepEqual(devnet.addressMempoolTransactions(alice.address).map((view) => view.tx.txid), [txid]);
  assert.deepEqual(devnet.addressUtxos(alice.address).map((utxo) => [utxo.txid, utxo.valueSats, utxo.status.confirmed]), [[txid, 150_000, false]]);
  const [hash] = devnet.mine(1);
  const status = devnet.transaction(txid)!.status;
  assert.ok(status.confirmed);
  assert.equal(status.blockHash, hash);
  assert.equal(status.blockHeight, 102);
  assert.deepEqual(devnet.block(hash!)!.txids.slice(1), [txid]);
  assert.deepEqual(devnet.addressMempoolTransactions(alice.address), []);
  assert.deepEqual(devnet.addressChainTransactions(alice.address).map((view) => view.tx.txid), [txid]);
  const payments = devnet.paymentsTo([alice.address]);
  assert.deepEqual(payments.map((payment) => [payment.txid, payment.valueSats, payment.block?.height]), [[txid, 150_000, 102]]);
  assert.ok(devnet.transaction(txid)!.feeSats > 0);
  // A block may leave a transaction out; it waits in the mempool for the next one.
  const waiting = devnet.faucet.pay(bob.address, 33_000);
  const other = devnet.faucet.pay(bob.address, 44_000);
  devnet.mine(1, { exclude: [waiting] });
  assert.deepEqual([devnet.transaction(waiting)!.status.confirmed, devnet.transaction(other)!.status.confirmed], [false, true]);
  devnet.mine(1);
  assert.ok(devnet.transaction(waiting)!.status.confirmed);
});

test('a one-byte change to a signature, an output value or a prevout is refused; the original is then accepted', () => {
  const devnet = new Devnet({ seed: 2 });
  const built = devnet.faucet.build([{ address: alice.address, amountSats: 200_000 }]);
  const parsed = parseTransaction(hex.decode(built.hex));
  const raw = built.hex;
  // Signature: a byte inside r of the first witness item.
  const signatureAt = raw.indexOf(hex.encode(parsed.inputs[0]!.witness[0]!)) / 2;
  assert.throws(() => devnet.submit(flipByte(raw, signatureAt + 10)), refusedWith('bad-signature'));
  // Output value: the lowest byte of output 0's amount (8 bytes little-endian before its script).
  const amountHex = '400d030000000000'; // 200,000 little-endian
  const amountAt = raw.indexOf(amountHex + '16' + hex.encode(alice.script)) / 2;
  assert.ok(amountAt > 0);
  assert.throws(() => devnet.submit(flipByte(raw, amountAt)), refusedWith('bad-signature'));
  // Prevout: a byte of the spent transaction's id.
  const prevoutAt = raw.indexOf(hex.encode(hex.decode(parsed.inputs[0]!.txid).reverse())) / 2;
  assert.ok(prevoutAt > 0);
  assert.throws(() => devnet.submit(flipByte(raw, prevoutAt + 3)), refusedWith('missing-inputs'));
  // The sighash type byte at the signature's end.
  assert.throws(() => devnet.submit(flipByte(raw, signatureAt + parsed.inputs[0]!.witness[0]!.length - 1)), refusedWith('bad-signature'));
  assert.equal(devnet.submit(raw), built.txid);
  assert.throws(() => devnet.submit(raw), refusedWith('duplicate'));
  assert.equal(devnet.broadcast(raw), built.txid, 'broadcasting a transaction the mempool holds succeeds, as sendrawtransaction does');
});

test('a double spend against the chain is refused, and so are outputs worth more than the inputs', () => {
  const devnet = new Devnet({ seed: 3 });
  const first = devnet.faucet.build([{ address: alice.address, amountSats: 100_000 }]);
  const second = devnet.faucet.build([{ address: bob.address, amountSats: 100_000 }]);
  assert.equal(parseTransaction(hex.decode(first.hex)).inputs[0]!.txid, parseTransaction(hex.decode(second.hex)).inputs[0]!.txid, 'both spend the same coin');
  devnet.submit(first.hex);
  devnet.mine(1);
  assert.throws(() => devnet.submit(second.hex), refusedWith('double-spend'));
  const coin = paymentOf(devnet, first.txid, alice.address);
  // btc-signer will not sign outputs above the inputs, so this spend lies to it about the coin's value.
  assert.throws(() => devnet.submit(spend(alice, [{ ...coin, valueSats: coin.valueSats + 1_000 }], [{ address: bob.address, amountSats: coin.valueSats + 1 }])), refusedWith('outputs-exceed-inputs'));
  assert.throws(() => devnet.submit(spend(alice, [coin], [{ address: bob.address, amountSats: coin.valueSats - 10 }])), refusedWith('min-relay-fee'));
  assert.throws(() => devnet.submit(spend(alice, [coin], [{ address: bob.address, amountSats: 100 }])), refusedWith('dust'));
  assert.throws(() => devnet.submit(spend(alice, [{ ...coin, vout: coin.vout + 5 }], [{ address: bob.address, amountSats: 50_000 }])), refusedWith('missing-inputs'));
  assert.throws(() => devnet.submit('00'), refusedWith('decode'));
  assert.throws(() => devnet.submit(first.hex + '00'), refusedWith('decode'));
});

test('RBF: a replacement paying elsewhere evicts the original and its descendants; a lower-fee replacement is refused', () => {
  const devnet = new Devnet({ seed: 4 });
  const deposit = devnet.faucet.pay(alice.address, 300_000, { feeRateSatVb: 3 });
  assert.throws(() => devnet.faucet.replace(deposit, { payTo: [{ address: bob.address, amountSats: 300_000 }], feeRateSatVb: 2 }), refusedWith('insufficient-fee'));
  assert.throws(() => devnet.faucet.replace(deposit, { payTo: [{ address: bob.address, amountSats: 300_000 }], feeRateSatVb: 3 }), refusedWith('insufficient-fee'), 'the same rate is not enough');
  assert.throws(() => devnet.faucet.replace(deposit, { payTo: [{ address: bob.address, amountSats: 300_000 }], feeRateSatVb: 3.5 }), refusedWith('insufficient-fee'), 'a higher rate, but less than 1 sat/vB more in total');
  const replacement = devnet.faucet.replace(deposit, { payTo: [{ address: bob.address, amountSats: 300_000 }] });
  assert.equal(devnet.transaction(deposit), undefined);
  assert.deepEqual(devnet.paymentsTo([alice.address]), []);
  assert.deepEqual(devnet.paymentsTo([bob.address]).map((payment) => payment.txid), [replacement]);
  const replacementFee = devnet.transaction(replacement)!.feeSats;
  // To the same address again, for the same amount: a new txid, a higher fee.
  const again = devnet.faucet.replace(replacement, { payTo: [{ address: bob.address, amountSats: 300_000 }] });
  assert.notEqual(again, replacement);
  assert.ok(devnet.transaction(again)!.feeSats > replacementFee);
  // Descendants: the third payment spends change of an earlier one (two mature coins were used first).
  devnet.faucet.pay(alice.address, 10_000);
  const child = devnet.faucet.pay(alice.address, 20_000);
  const parent = devnet.transaction(child)!.tx.inputs[0]!.txid;
  assert.ok(devnet.transaction(parent)!.status.confirmed === false, 'the child spends unconfirmed change');
  devnet.faucet.replace(parent, { payTo: [] });
  assert.equal(devnet.transaction(parent), undefined);
  assert.equal(devnet.transaction(child), undefined, 'the descendant left with its parent');
  devnet.mine(1);
  assert.ok(devnet.transaction(again)!.status.confirmed);
});

test('two outputs to the same address in one transaction are two payments of one transaction', () => {
  const devnet = new Devnet({ seed: 5 });
  const txid = devnet.faucet.pay(alice.address, 10_000, { outputs: [{ address: alice.address, amountSats: 20_000 }] });
  devnet.mine(1);
  assert.deepEqual(devnet.paymentsTo([alice.address, alice.address]).map((payment) => [payment.txid, payment.vout, payment.valueSats]), [[txid, 0, 10_000], [txid, 1, 20_000]]);
  assert.deepEqual(devnet.addressChainTransactions(alice.address).map((view) => view.tx.txid), [txid], 'listed once');
  assert.deepEqual(devnet.addressUtxos(alice.address).map((utxo) => utxo.vout), [0, 1]);
});

test('invalidate, then a competing branch that double-spends the deposit: the original is gone, the replacement confirmed', async () => {
  const devnet = new Devnet({ seed: 6 });
  const backend = devnetBackend(devnet);
  const deposit = devnet.faucet.pay(alice.address, 500_000);
  const [stale] = devnet.mine(1);
  assert.equal((await backend.paymentsTo([alice.address]))[0]!.block?.hash, stale);
  const switched = devnet.invalidate(stale!);
  assert.deepEqual(switched, { disconnected: [stale], connected: [] });
  assert.deepEqual(devnet.transaction(deposit)!.status, { confirmed: false }, 'back in the mempool');
  const doubleSpend = devnet.faucet.replace(deposit, { payTo: [] });
  devnet.mine(2);
  assert.equal(devnet.transaction(deposit), undefined);
  assert.ok(devnet.transaction(doubleSpend)!.status.confirmed);
  assert.deepEqual(await backend.paymentsTo([alice.address]), []);
  assert.equal(await backend.blockInBestChain(stale!), false);
  assert.deepEqual(devnet.blockStatus(stale!), { inBestChain: false, height: 102, nextBest: null });
  assert.equal(devnet.block(stale!)!.inBestChain, false, 'a stale block is kept');
  assert.equal((await backend.tip()).height, 103);
  await assert.rejects(backend.broadcast('zz'), refusedWith('decode'));
});

test('confirmed, then unconfirmed again: invalidating its block returns the transaction to the mempool', () => {
  const devnet = new Devnet({ seed: 7 });
  const deposit = devnet.faucet.pay(alice.address, 70_000);
  const [block] = devnet.mine(1);
  assert.ok(devnet.transaction(deposit)!.status.confirmed);
  devnet.invalidate(block!);
  assert.equal(devnet.tip().height, 101);
  assert.deepEqual(devnet.mempoolTxids(), [deposit]);
  assert.deepEqual(devnet.paymentsTo([alice.address]).map((payment) => payment.block), [null]);
  assert.throws(() => devnet.invalidate(block!.replace(/^./, (c) => (c === '0' ? '1' : '0'))), refusedWith('unknown-block'));
});

test('a two-block reorg re-mines the deposit in a new block at the same height', () => {
  const devnet = new Devnet({ seed: 8 });
  const deposit = devnet.faucet.pay(alice.address, 80_000);
  const [first, second] = devnet.mine(2);
  const result = devnet.reorg(2);
  assert.deepEqual(result.disconnected, [second, first]);
  assert.equal(result.connected.length, 3);
  const status = devnet.transaction(deposit)!.status;
  assert.ok(status.confirmed);
  assert.equal(status.blockHeight, 102);
  assert.notEqual(status.blockHash, first);
  assert.equal(devnet.tip().height, 104);
  assert.equal(devnet.blockStatus(first!)!.inBestChain, false);
  assert.equal(devnet.blockStatus(result.connected[0]!)!.nextBest, result.connected[1]);
  // A reorg that drops a deposit: it is gone rather than re-mined.
  const dropped = devnet.faucet.pay(bob.address, 90_000);
  devnet.mine(1);
  devnet.reorg(1, { drop: [dropped] });
  assert.equal(devnet.transaction(dropped), undefined);
  // A reorg that double-spends one back to the faucet.
  const spent = devnet.faucet.pay(bob.address, 95_000);
  devnet.mine(1);
  devnet.reorg(1, { doubleSpend: [spent] });
  assert.equal(devnet.transaction(spent), undefined);
  assert.deepEqual(devnet.paymentsTo([bob.address]), []);
});

test('deterministic: the same seed gives the same blocks and txids; another seed does not', () => {
  const run = (seed: number): string[] => {
    const devnet = new Devnet({ seed });
    const txid = devnet.faucet.pay(alice.address, 12_345);
    return [devnet.blockHash(1)!, txid, ...devnet.mine(2), devnet.faucet.address];
  };
  assert.deepEqual(run(9), run(9));
  assert.notDeepEqual(run(9), run(10));
  assert.equal(new Devnet({ initialBlocks: 0 }).tip().hash, REGTEST_GENESIS_HASH);
});

test('P2TR key path: a spend signed with the key is verified; a one-byte change to its signature or outputs is refused', () => {
  const devnet = new Devnet({ seed: 11 });
  const funding = devnet.faucet.pay(carol.address, 250_000);
  const coin = paymentOf(devnet, funding, carol.address);
  const raw = spend(carol, [coin], [{ address: bob.address, amountSats: 240_000 }]);
  const parsed = parseTransaction(hex.decode(raw));
  assert.equal(parsed.inputs[0]!.witness.length, 1);
  const signatureAt = raw.indexOf(hex.encode(parsed.inputs[0]!.witness[0]!)) / 2;
  assert.throws(() => devnet.submit(flipByte(raw, signatureAt + 40)), refusedWith('bad-signature'));
  const amountAt = raw.indexOf(hex.encode(new Uint8Array([0x80, 0xa9, 0x03, 0, 0, 0, 0, 0]))) / 2; // 240,000 little-endian
  assert.ok(amountAt > 0);
  assert.throws(() => devnet.submit(flipByte(raw, amountAt + 1)), refusedWith('bad-signature'));
  const txid = devnet.submit(raw); // spends the unconfirmed funding: a mempool chain
  devnet.mine(1);
  const block = devnet.block(devnet.tip().hash)!;
  assert.deepEqual(block.txids.slice(1), [funding, txid], 'parent before child in one block');
});

test('a coinbase is spendable after 100 blocks, not before; a spend the devnet cannot verify is refused', () => {
  const devnet = new Devnet({ seed: 12 });
  const [hash] = devnet.mine(1, { address: alice.address });
  const coinbase = devnet.block(hash!)!.txids[0]!;
  const coin = paymentOf(devnet, coinbase, alice.address);
  const raw = spend(alice, [coin], [{ address: bob.address, amountSats: coin.valueSats - 1_000 }]);
  assert.throws(() => devnet.submit(raw), refusedWith('immature-coinbase'));
  devnet.mine(98);
  assert.throws(() => devnet.submit(raw), refusedWith('immature-coinbase'));
  devnet.mine(1);
  devnet.submit(raw);
  // A legacy P2PKH output: paid, but its spend is refused rather than accepted unverified.
  const legacy = p2pkh(alice.key.publicKey!, DEVNET_NETWORK).address!;
  const paid = devnet.faucet.pay(legacy, 10_000);
  const unverifiable = RawTx.encode({ version: 2, segwitFlag: false, inputs: [{ txid: hex.decode(paid), index: paymentOf(devnet, paid, legacy).vout, finalScriptSig: new Uint8Array([0x51]), sequence: 0xffffffff }], outputs: [{ amount: 5_000n, script: bob.script }], lockTime: 0 });
  assert.throws(() => devnet.submit(unverifiable), refusedWith('non-standard-input'));
});

test('blocks are real: an independent parser checks header hash, merkle root, witness commitment and proof of work', () => {
  const devnet = new Devnet({ seed: 13 });
  devnet.faucet.pay(alice.address, 40_000);
  devnet.faucet.pay(carol.address, 50_000);
  const [hash] = devnet.mine(1);
  for (const blockHash of [hash!, devnet.blockHash(1)!, devnet.blockHash(0)!]) {
    const block = Block.fromBuffer(devnet.rawBlock(blockHash)!);
    assert.equal(block.getId(), blockHash);
    assert.ok(block.checkTxRoots(), 'merkle root (and witness commitment) match');
    assert.ok(block.checkProofOfWork(), 'meets the regtest target');
    assert.equal(block.byteLength(), devnet.block(blockHash)!.size);
    assert.equal(block.weight(), devnet.block(blockHash)!.weight);
  }
  assert.equal(devnet.blockHash(0), REGTEST_GENESIS_HASH);
  assert.equal(Block.fromBuffer(devnet.rawBlock(hash!)!).transactions!.length, 3);
});

test('scheduled mining on a virtual clock: one block per interval, block times from the clock, until stopped', () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const devnet = new Devnet({ seed: 14, now: () => clock.now() });
  const start = devnet.tip().height;
  const mining = devnet.startMining(clock, 600_000);
  const deposit = devnet.faucet.pay(alice.address, 60_000);
  clock.advanceBy(600_000);
  assert.equal(devnet.tip().height, start + 1);
  assert.ok(devnet.transaction(deposit)!.status.confirmed);
  clock.advanceBy(3 * 600_000);
  assert.equal(devnet.tip().height, start + 4);
  assert.equal(devnet.block(devnet.tip().hash)!.time, Math.floor(clock.now() / 1000));
  mining.stop();
  assert.equal(clock.pendingCount, 0);
  clock.advanceBy(10 * 600_000);
  assert.equal(devnet.tip().height, start + 4);
});

test('mempool chains are limited to 25 transactions; a transaction waits for its locktime', () => {
  const devnet = new Devnet({ seed: 15 });
  const funding = devnet.faucet.pay(alice.address, 1_000_000);
  let coin = paymentOf(devnet, funding, alice.address);
  for (let depth = 2; depth <= 25; depth++) {
    const txid = devnet.submit(spend(alice, [coin], [{ address: alice.address, amountSats: coin.valueSats - 200 }]));
    coin = paymentOf(devnet, txid, alice.address);
  }
  assert.throws(() => devnet.submit(spend(alice, [coin], [{ address: alice.address, amountSats: coin.valueSats - 200 }])), refusedWith('too-long-mempool-chain'));
  devnet.mine(1);
  assert.equal(devnet.mempoolTxids().length, 0, 'the whole chain fits one block');
  const lockHeight = devnet.tip().height + 2;
  const locked = spend(alice, [coin], [{ address: bob.address, amountSats: coin.valueSats - 200 }], lockHeight);
  assert.throws(() => devnet.submit(locked), refusedWith('non-final'));
  devnet.mine(1);
  assert.throws(() => devnet.submit(locked), refusedWith('non-final'), 'valid in the block after its locktime height, not at it');
  devnet.mine(1);
  devnet.submit(locked);
});

test('devnetBackend: unspentOf, transactionStatus and spenderOf follow the mempool, confirmation, replacement and reorgs', async () => {
  const devnet = new Devnet({ seed: 16 });
  const backend = devnetBackend(devnet);
  const byOutpoint = <T extends { readonly txid: string; readonly vout: number }>(list: readonly T[]): T[] => [...list].sort((a, b) => `${a.txid}:${a.vout}`.localeCompare(`${b.txid}:${b.vout}`));
  const unknown = 'cd'.repeat(32);
  const funding = devnet.faucet.pay(alice.address, 100_000, { outputs: [{ address: bob.address, amountSats: 50_000 }] });
  const [fundingHash] = devnet.mine(1);
  const fundingBlock = { height: devnet.tip().height, hash: fundingHash! };
  const pending = devnet.faucet.pay(bob.address, 70_000);
  const toReplace = devnet.faucet.pay(alice.address, 40_000);
  const spender = devnet.submit(spend(alice, [{ txid: funding, vout: 0, valueSats: 100_000 }], [{ address: bob.address, amountSats: 99_000 }]));
  const expected = (replacing: string, block: { height: number; hash: string } | null = null) => byOutpoint([
    { txid: funding, vout: 1, address: bob.address, valueSats: 50_000, block: fundingBlock }, // funding:0 is spent in the mempool: absent
    { txid: pending, vout: 0, address: bob.address, valueSats: 70_000, block },
    { txid: replacing, vout: 0, address: alice.address, valueSats: 40_000, block },
    { txid: spender, vout: 0, address: bob.address, valueSats: 99_000, block },
  ]);
  assert.deepEqual(byOutpoint(await backend.unspentOf([alice.address, bob.address, alice.address])), expected(toReplace), 'each address once');
  assert.deepEqual(await backend.unspentOf([]), []);
  await assert.rejects(backend.unspentOf(['notanaddress']), DevnetRefusal);
  assert.deepEqual(await backend.transactionStatus(funding), { state: 'confirmed', block: fundingBlock });
  assert.deepEqual(await backend.transactionStatus(pending), { state: 'mempool' });
  assert.deepEqual(await backend.transactionStatus(unknown), { state: 'unknown' });
  assert.deepEqual(await backend.spenderOf(funding, 0), { spent: true, txid: spender });
  assert.deepEqual(await backend.spenderOf(funding, 1), { spent: false });
  assert.deepEqual(await backend.spenderOf(funding, 9), { spent: false }, 'an output the transaction does not have');
  const input = devnet.transaction(funding)!.tx.inputs[0]!;
  assert.deepEqual(await backend.spenderOf(input.txid, input.vout), { spent: true, txid: funding }, 'the faucet coin it spent');
  assert.deepEqual(await backend.spenderOf(unknown, 0), { spent: false });
  // The faucet replaces one payment: the original is unknown, its output gone, the replacement's there.
  const replacement = devnet.faucet.replace(toReplace, { payTo: [{ address: alice.address, amountSats: 40_000 }] });
  assert.deepEqual(await backend.transactionStatus(toReplace), { state: 'unknown' });
  assert.deepEqual(await backend.transactionStatus(replacement), { state: 'mempool' });
  assert.deepEqual(await backend.spenderOf(toReplace, 0), { spent: false });
  assert.deepEqual(byOutpoint(await backend.unspentOf([alice.address, bob.address])), expected(replacement));
  // Mined: the mempool outputs have their block, the spend is confirmed.
  const [minedHash] = devnet.mine(1);
  const mined = { height: devnet.tip().height, hash: minedHash! };
  assert.deepEqual(await backend.transactionStatus(spender), { state: 'confirmed', block: mined });
  assert.deepEqual(await backend.spenderOf(funding, 0), { spent: true, txid: spender });
  assert.deepEqual(byOutpoint(await backend.unspentOf([alice.address, bob.address])), expected(replacement, mined));
  // Reorged out: back in the mempool; dropped by the next reorg: unknown, its outputs unspent and gone.
  devnet.invalidate(minedHash!);
  assert.deepEqual(await backend.transactionStatus(spender), { state: 'mempool' });
  assert.deepEqual(byOutpoint(await backend.unspentOf([alice.address, bob.address])), expected(replacement));
  devnet.mine(1);
  devnet.reorg(1, { drop: [spender] });
  assert.deepEqual(await backend.transactionStatus(spender), { state: 'unknown' });
  assert.deepEqual(await backend.spenderOf(funding, 0), { spent: false });
  assert.deepEqual((await backend.unspentOf([alice.address])).map((utxo) => `${utxo.txid}:${utxo.vout}`).sort(), [`${funding}:0`, `${replacement}:0`].sort());
});
