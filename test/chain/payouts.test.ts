// Goal: withdrawals are paid on chain end to end with no spending key on the exchange, and every
// rule of the payout processor holds on real transactions: a participant's withdrawal is approved,
// batched into a PSBT, signed by the payer (its own key, over the socket), checked, journalled,
// broadcast, confirmed and completed, paying exactly; a fee spike over the cap makes the batch wait;
// a stuck transaction is bumped (RBF) and completion is recognised whichever candidate confirms; a
// confirmation reorged out goes back to broadcast and is completed once, never paid twice; a
// double-spent batch becomes conflicted (an alert), fails only by the admin, and is refunded only
// by the admin; a ledger that the wallet no longer covers halts payouts, on /health and /metrics.
// Method: the production server composition (lmdb, journal, sockets) on a devnet read through the
// unmodified Esplora adapter over HTTP; the deposit watcher and the processor are driven by the
// test (their timers are set far out), so every step is deterministic.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { p2wpkh, Transaction } from '@scure/btc-signer';
import { btcSignerNetwork, parseDepositKey } from '../../src/chain/deposit-keys.js';
import { Devnet } from '../../src/chain/devnet.js';
import { startDevnetServer } from '../../src/chain/devnet-server.js';
import { EsploraBackend } from '../../src/chain/esplora.js';
import type { ChainBackend } from '../../src/chain/backend.js';
import { accountXpub, newPayerKey, payerIdentity, payerPass, readPayerKey, SignedLog, writePayerKey, type PayerKey } from '../../src/chain/payer-agent.js';
import { main } from '../../src/cli/main.js';
import { floatAddress } from '../../src/chain/payout-processor.js';
import { realClock } from '../../src/clock.js';
import { encodeWif, type Identity } from '../../src/crypto/keys.js';
import { ExchangeClient } from '../../src/daemon/exchange-client.js';
import { exchangeProtocol } from '../../src/protocol/exchange.js';
import { startExchangeServer, type RunningExchangeServer } from '../../src/server/serve.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { newIdentity } from '../support/exchange.js';

const EXCHANGE_ID = 'bitwrk-payouts';
const DEST = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
const DEST2 = 'bcrt1qzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs2ns5wu';
const CONFIRMATIONS = 3;
const POLICY = { feeCapSats: 20_000, dailyLimitSats: 10_000_000 };
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Setup {
  readonly devnet: Devnet;
  readonly server: RunningExchangeServer;
  readonly payerKey: PayerKey;
  readonly admin: Identity;
  readonly alerts: string[];
  client(who: Identity): Promise<ExchangeClient>;
  peer(): Promise<RpcPeer<typeof exchangeProtocol>>;
  /** One pass of the deposit watcher and one of the payout processor. */
  pass(): Promise<void>;
  /** The payer's pass over the socket. */
  pay(): Promise<Awaited<ReturnType<typeof payerPass>>>;
  /** A participant with `sats` credited from a real deposit. */
  funded(sats: number): Promise<{ who: Identity; client: ExchangeClient }>;
  http(path: string): Promise<{ status: number; text: string }>;
}

let seed = 40;

async function setup(options: { backend?: (esplora: ChainBackend) => ChainBackend; feeRateCapSatVb?: number } = {}): Promise<Setup> {
  const devnet = new Devnet({ seed: ++seed });
  const http = await startDevnetServer({ devnet });
  cleanups.push(() => http.close());
  const payerKey = newPayerKey('regtest', new Uint8Array(32).fill(seed));
  const key = parseDepositKey(accountXpub(payerKey), 'regtest');
  const alerts: string[] = [];
  const admin = newIdentity();
  const esplora = new EsploraBackend(http.url);
  const server = await startExchangeServer({
    clock: realClock, host: '127.0.0.1', port: 0, dataDir: mkdtempSync(join(tmpdir(), 'bitwrk-payouts-')),
    exchangeId: EXCHANGE_ID, network: 'testnet', adminAddress: admin.address, payerAddress: payerIdentity(payerKey).address, workers: 0,
    deposits: { key, backend: options.backend?.(esplora) ?? esplora, pollMs: 3_600_000, onAlert: (message) => alerts.push(message) },
    payouts: { pollMs: 3_600_000, batchIntervalMs: 0, confirmations: CONFIRMATIONS, depositCoinConfirmations: CONFIRMATIONS, bumpAfterBlocks: 2, ...(options.feeRateCapSatVb === undefined ? {} : { feeRateCapSatVb: options.feeRateCapSatVb }) },
  });
  cleanups.push(() => server.stop());
  const peer = async (): Promise<RpcPeer<typeof exchangeProtocol>> => {
    const connected = new RpcPeer(await connectWebSocket(server.wsUrl, { clock: realClock }), exchangeProtocol, {}, { clock: realClock });
    cleanups.push(async () => connected.close(1000, 'done'));
    return connected;
  };
  const client = async (who: Identity): Promise<ExchangeClient> => new ExchangeClient(await peer(), who, EXCHANGE_ID, realClock);
  const payerClient = await client(payerIdentity(payerKey));
  const payerPeer = await peer();
  const log = new SignedLog(join(mkdtempSync(join(tmpdir(), 'bitwrk-payer-')), 'signed.jsonl'));
  const pass = async (): Promise<void> => {
    await server.depositWatcher!.poll();
    await server.payoutProcessor!.tick();
  };
  const s: Setup = {
    devnet, server, payerKey, admin, alerts, client, peer, pass,
    pay: () => payerPass({ key: payerKey, policy: POLICY, log, nowMs: () => realClock.now(), exchange: { payouts: () => payerPeer.request('payouts', {}), submitPayout: (batchId, rawHex) => payerClient.submitPayout(batchId, rawHex) } }),
    async funded(sats) {
      const who = newIdentity();
      const whoClient = await client(who);
      const { address } = await whoClient.requestDepositAddress();
      devnet.faucet.pay(address, sats);
      devnet.mine(CONFIRMATIONS);
      await pass();
      assert.equal(server.exchange.core.account(who.address)?.availableSats, sats, 'credited');
      return { who, client: whoClient };
    },
    async http(path) {
      const response = await fetch(`${server.httpUrl}${path}`);
      return { status: response.status, text: await response.text() };
    },
  };
  // The operator's float pays network fees (the exchange has no trading income here).
  devnet.faucet.pay(floatAddress(key), 50_000);
  devnet.mine(1);
  return s;
}

function withdrawalOf(s: Setup, id: string) {
  return s.server.exchange.core.funds.withdrawal(id);
}

test('a withdrawal is paid on chain exactly: approved, batched, signed by the payer, broadcast, confirmed, completed; the ledger and the wallet reconcile', async () => {
  const s = await setup();
  const { who, client } = await s.funded(200_000);
  const requested = await client.requestWithdrawal('k1', DEST, 50_000);
  assert.equal(requested.state, 'requested');
  await s.pass();
  const batch = s.server.exchange.core.funds.payoutBatches()[0]!;
  assert.equal(withdrawalOf(s, requested.withdrawalId)?.state, 'batched');
  assert.ok(batch.unsigned !== null);
  const answer = await (await s.peer()).request('payouts', {});
  assert.deepEqual(answer.batches.map((b) => [b.batchId, b.manifest.outputs]), [[batch.batchId, [{ withdrawalId: requested.withdrawalId, address: DEST, amountSats: 50_000 }]]]);
  const paid = await s.pay();
  assert.deepEqual(paid.refused, []);
  const txid = paid.signed[0]!.txid;
  assert.equal(withdrawalOf(s, requested.withdrawalId)?.state, 'signed', 'the txid is journalled before the broadcast');
  assert.equal(withdrawalOf(s, requested.withdrawalId)?.txid, txid);
  assert.equal(s.devnet.transaction(txid), undefined, 'nothing broadcast yet');
  await s.pass();
  assert.equal(withdrawalOf(s, requested.withdrawalId)?.state, 'broadcast');
  assert.ok(s.devnet.mempoolTxids().includes(txid));
  s.devnet.mine(1);
  await s.pass();
  assert.equal(withdrawalOf(s, requested.withdrawalId)?.state, 'confirmed');
  s.devnet.mine(CONFIRMATIONS - 1);
  await s.pass();
  assert.equal(withdrawalOf(s, requested.withdrawalId), undefined, 'completed: no longer live');
  assert.deepEqual(s.devnet.addressUtxos(DEST).map((u) => u.valueSats), [50_000], 'paid exactly once, exactly');
  const account = s.server.exchange.core.account(who.address)!;
  assert.deepEqual([account.availableSats, account.payoutPendingSats], [150_000, 0]);
  const status = s.server.payoutProcessor!.status();
  assert.equal(status.halted, false);
  const fee = s.devnet.transaction(txid)!.feeSats;
  assert.equal(status.reconciliation!.surplusSats, 50_000 - fee, 'the surplus is the float less the network fee');
  const health = JSON.parse((await s.http('/health')).text) as { payouts: { halted: boolean } };
  assert.equal(health.payouts.halted, false);
  assert.deepEqual(s.alerts, []);
});

test('a ledger the wallet does not cover halts payouts: nothing is batched or broadcast, /health answers 503, /metrics shows it', async () => {
  const s = await setup();
  const { client } = await s.funded(100_000);
  // Money minted in the ledger with no coin behind it (an admin credit): participants are owed more than the wallet holds.
  const admin = await s.client(s.admin);
  await admin.credit(newIdentity().address, 500_000);
  await client.requestWithdrawal('k1', DEST, 10_000);
  await s.pass();
  const status = s.server.payoutProcessor!.status();
  assert.equal(status.halted, true);
  assert.match(status.reason!, /the wallet holds \d+ sat, participants are owed \d+ sat/);
  assert.equal(s.server.exchange.core.funds.payoutBatches().length, 0, 'no batch while halted');
  assert.equal(s.server.exchange.core.funds.requestedWithdrawals(10).length, 1, 'not even approved');
  assert.ok(s.alerts.some((alert) => /payouts HALTED/.test(alert)));
  const health = await s.http('/health');
  assert.equal(health.status, 503);
  assert.equal((JSON.parse(health.text) as { payouts: { halted: boolean } }).payouts.halted, true);
  assert.match((await s.http('/metrics')).text, /^bitwrk_payouts_halted 1$/m);
  // The operator covers it (coins to the float): payouts resume on the next pass.
  s.devnet.faucet.pay(floatAddress(parseDepositKey(accountXpub(s.payerKey), 'regtest')), 600_000);
  s.devnet.mine(1);
  await s.pass();
  assert.equal(s.server.payoutProcessor!.status().halted, false);
  assert.equal(s.server.exchange.core.funds.payoutBatches().length, 1);
});

test('a fee estimate over the cap makes the batch wait instead of overpaying', async () => {
  let spike = true;
  const s = await setup({ feeRateCapSatVb: 20, backend: (esplora) => ({ ...bind(esplora), feeEstimates: () => Promise.resolve(spike ? { 1: 400, 3: 250, 6: 120 } : { 1: 3, 3: 2, 6: 1 }) }) });
  const { client } = await s.funded(100_000);
  await client.requestWithdrawal('k1', DEST, 10_000);
  await s.pass();
  assert.equal(s.server.exchange.core.funds.payoutBatches().length, 0);
  assert.match(s.server.payoutProcessor!.status().waiting!, /250 sat\/vB is over the cap of 20/);
  spike = false;
  await s.pass();
  const [batch] = s.server.exchange.core.funds.payoutBatches();
  assert.equal(batch?.unsigned?.feeRateSatVb, 2, 'the estimate for 3 blocks once it is back under the cap');
});

test('a stuck batch is bumped by RBF through the payer; completion is recognised whichever candidate confirms; paid once', async () => {
  const s = await setup();
  const { client } = await s.funded(300_000);
  const one = await client.requestWithdrawal('k1', DEST, 40_000);
  const two = await client.requestWithdrawal('k2', DEST2, 30_000);
  await s.pass();
  const first = (await s.pay()).signed[0]!.txid;
  await s.pass();
  assert.equal(withdrawalOf(s, one.withdrawalId)?.state, 'broadcast');
  // Two blocks without it: stuck.
  for (let block = 0; block < 3; block++) {
    s.devnet.mine(1, { exclude: [first] });
    await s.pass();
  }
  const batch = s.server.exchange.core.funds.payoutBatches()[0]!;
  assert.ok(batch.unsigned !== null, 'a replacement waits for the payer');
  assert.ok(batch.unsigned.feeSats > batch.candidates[0]!.feeSats);
  assert.ok(s.alerts.some((alert) => /a replacement at .* sat\/vB waits for the payer/.test(alert)));
  const second = (await s.pay()).signed[0]!.txid;
  assert.notEqual(second, first);
  await s.pass(); // broadcasts the replacement
  assert.ok(s.devnet.mempoolTxids().includes(second) && !s.devnet.mempoolTxids().includes(first), 'the replacement evicted the original');
  s.devnet.mine(CONFIRMATIONS);
  await s.pass();
  await s.pass();
  assert.equal(withdrawalOf(s, one.withdrawalId), undefined);
  assert.equal(withdrawalOf(s, two.withdrawalId), undefined);
  assert.deepEqual(s.devnet.addressUtxos(DEST).map((u) => u.valueSats), [40_000]);
  assert.deepEqual(s.devnet.addressUtxos(DEST2).map((u) => u.valueSats), [30_000]);
});

test('a confirmation reorged out goes back to broadcast and completes once the transaction is buried again; never paid twice', async () => {
  const s = await setup();
  const { client } = await s.funded(100_000);
  const w = await client.requestWithdrawal('k1', DEST, 25_000);
  await s.pass();
  const txid = (await s.pay()).signed[0]!.txid;
  await s.pass();
  s.devnet.mine(1);
  await s.pass();
  assert.equal(withdrawalOf(s, w.withdrawalId)?.state, 'confirmed');
  // The block holding it is replaced by a branch without it; it returns to the mempool.
  s.devnet.reorg(1, { blocks: 2, drop: [txid] });
  await s.pass();
  assert.equal(withdrawalOf(s, w.withdrawalId)?.state, 'broadcast', 'back to broadcast, watched again');
  assert.ok(s.alerts.some((alert) => /left the best chain/.test(alert)));
  await s.pass(); // dropped: nowhere, its coins unspent → the same signed transaction is sent again
  assert.ok(s.devnet.mempoolTxids().includes(txid), 'the journalled transaction, not a rebuilt one');
  s.devnet.mine(CONFIRMATIONS);
  await s.pass();
  await s.pass();
  assert.equal(withdrawalOf(s, w.withdrawalId), undefined);
  assert.deepEqual(s.devnet.addressUtxos(DEST).map((u) => u.valueSats), [25_000]);
});

test('a batch whose coins another transaction spent is conflicted and alerts; only the admin fails it and refunds its withdrawals', async () => {
  const s = await setup();
  const { who, client } = await s.funded(100_000);
  const w = await client.requestWithdrawal('k1', DEST, 25_000);
  await s.pass();
  const txid = (await s.pay()).signed[0]!.txid;
  await s.pass();
  // Someone with the wallet's key spends the batch's coin elsewhere at a higher fee (full RBF).
  const batch = s.server.exchange.core.funds.payoutBatches()[0]!;
  const input = batch.inputs[0]!;
  s.devnet.submit(spendElsewhere(s.payerKey, input, 5_000));
  assert.ok(!s.devnet.mempoolTxids().includes(txid));
  await s.pass();
  assert.equal(withdrawalOf(s, w.withdrawalId)?.state, 'conflicted');
  assert.ok(s.alerts.some((alert) => /conflicted and will not be paid again/.test(alert)));
  await s.pass();
  assert.equal(withdrawalOf(s, w.withdrawalId)?.state, 'conflicted', 'nothing automatic follows');
  const admin = await s.client(s.admin);
  await assert.rejects(admin.refundWithdrawal(w.withdrawalId), /5038|payout batch/, 'refunded only once the batch is failed');
  await admin.failPayoutBatch(batch.batchId, 'coins double-spent; checked on chain');
  assert.equal(withdrawalOf(s, w.withdrawalId)?.state, 'failed');
  assert.equal(s.server.exchange.core.account(who.address)?.payoutPendingSats, 25_000, 'still held until the refund');
  await admin.refundWithdrawal(w.withdrawalId);
  assert.deepEqual([s.server.exchange.core.account(who.address)?.availableSats, s.server.exchange.core.account(who.address)?.payoutPendingSats], [100_000, 0]);
  assert.deepEqual(s.devnet.addressUtxos(DEST), [], 'the withdrawal itself was never paid');
});

test('the exchange refuses a signed batch that is not its PSBT or whose signature does not verify, and one not from the payer', async () => {
  const s = await setup();
  const { client } = await s.funded(100_000);
  await client.requestWithdrawal('k1', DEST, 25_000);
  await s.pass();
  const [waiting] = (await (await s.peer()).request('payouts', {})).batches;
  const tx = Transaction.fromPSBT(Buffer.from(waiting!.psbtBase64, 'base64'));
  // Garbage witnesses: the right shape, signatures that verify nothing.
  for (let index = 0; index < tx.inputsLength; index++) tx.updateInput(index, { finalScriptWitness: [new Uint8Array(71).fill(0x30), new Uint8Array(33).fill(2)] });
  const forged = hex.encode(tx.extract());
  const payer = await s.client(payerIdentity(s.payerKey));
  await assert.rejects(payer.submitPayout(waiting!.batchId, forged), (error: Error & { code?: number }) => error.code === 5039 && /does not verify/.test(error.message));
  const stranger = await s.client(newIdentity());
  await assert.rejects(stranger.submitPayout(waiting!.batchId, forged), (error: Error & { code?: number }) => error.code === 2008);
  await assert.rejects(payer.submitPayout('b99', forged), (error: Error & { code?: number }) => error.code === 5036);
  assert.equal(s.server.exchange.core.funds.payoutBatches()[0]!.candidates.length, 0, 'nothing recorded');
});

/** The backend's methods bound, so a test can override one of them. */
function bind(backend: ChainBackend): ChainBackend {
  return {
    name: backend.name,
    tip: () => backend.tip(),
    paymentsTo: (addresses) => backend.paymentsTo(addresses),
    blockInBestChain: (hash) => backend.blockInBestChain(hash),
    feeEstimates: () => backend.feeEstimates(),
    broadcast: (raw) => backend.broadcast(raw),
    unspentOf: (addresses) => backend.unspentOf(addresses),
    transactionStatus: (txid) => backend.transactionStatus(txid),
    spenderOf: (txid, vout) => backend.spenderOf(txid, vout),
  };
}

/** A transaction spending one of the wallet's coins to an outside address, signed with the wallet's key. */
function spendElsewhere(key: PayerKey, coin: { txid: string; vout: number; valueSats: number; chain: 0 | 1; index: number }, feeSats: number): string {
  const network = btcSignerNetwork('regtest');
  const child = HDKey.fromExtendedKey(key.accountXprv, { private: 0x04358394, public: 0x043587cf }).deriveChild(coin.chain).deriveChild(coin.index);
  const tx = new Transaction();
  tx.addInput({ txid: coin.txid, index: coin.vout, witnessUtxo: { script: p2wpkh(child.publicKey!, network).script, amount: BigInt(coin.valueSats) }, sequence: 0xfffffffd });
  tx.addOutputAddress(DEST2, BigInt(coin.valueSats - feeSats), network);
  tx.signIdx(child.privateKey!, 0);
  tx.finalize();
  return tx.hex;
}

test('bitwrk payer: init writes a key file and prints the exchange flags; export, sign (offline) and submit; run --once; a refusal exits 1 with the reason', async () => {
  const s = await setup();
  const dir = mkdtempSync(join(tmpdir(), 'bitwrk-payer-cli-'));
  const { lines, restore } = captureConsole();
  try {
    // init: a fresh key, never overwritten.
    const fresh = join(dir, 'fresh.json');
    assert.equal(await main(['payer', 'init', '--key-file', fresh, '--network', 'regtest']), 0);
    assert.equal(statSync(fresh).mode & 0o777, 0o600);
    const initKey = readPayerKey(fresh);
    assert.ok(lines.some((line) => line.includes(`--deposit-key ${accountXpub(initKey)} --payouts --payer ${payerIdentity(initKey).address}`)));
    assert.equal(await main(['payer', 'init', '--key-file', fresh, '--network', 'regtest']), 1, 'an existing key file is kept');
    // The setup's payer key, as a key file.
    const keyFile = join(dir, 'payer.json');
    writePayerKey(keyFile, s.payerKey);
    const { client } = await s.funded(200_000);
    await client.requestWithdrawal('k1', DEST, 20_000);
    await s.pass();
    const exchange = ['--exchange', s.server.wsUrl];
    assert.equal(await main(['payer', 'export', '--out', join(dir, 'out'), ...exchange]), 0);
    const file = join(dir, 'out', 'b1.json');
    assert.equal(await main(['payer', 'sign', file, '--key-file', keyFile, '--fee-cap', '10']), 1, 'over its fee cap');
    assert.ok(lines.some((line) => /^bitwrk payer: refused: the fee of \d+ sat is over the cap of 10$/.test(line)));
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, ' '.repeat(5 * 1024 * 1024));
    assert.equal(await main(['payer', 'sign', huge, '--key-file', keyFile]), 1, 'a file larger than any batch is not read');
    assert.ok(lines.some((line) => /^bitwrk payer: huge\.json: \d+ bytes, more than a batch file holds/.test(line)));
    assert.equal(await main(['payer', 'sign', file, '--key-file', keyFile]), 0);
    assert.equal(await main(['payer', 'submit', join(dir, 'out', 'b1.signed.json'), '--key-file', keyFile, ...exchange]), 0);
    assert.ok(lines.some((line) => /^b1: [0-9a-f]{64} accepted/.test(line)));
    await client.requestWithdrawal('k2', DEST2, 15_000);
    await s.pass();
    assert.equal(await main(['payer', 'run', '--once', '--key-file', keyFile, ...exchange]), 0);
    assert.ok(lines.some((line) => /^b2: signed and submitted [0-9a-f]{64}$/.test(line)));
    await s.pass();
    s.devnet.mine(CONFIRMATIONS);
    await s.pass();
    await s.pass();
    assert.deepEqual(s.devnet.addressUtxos(DEST).map((u) => u.valueSats), [20_000]);
    assert.deepEqual(s.devnet.addressUtxos(DEST2).map((u) => u.valueSats), [15_000]);
    assert.equal(new SignedLog(`${keyFile}.signed.jsonl`).signedToday(realClock.now()), 35_000, 'the payer counted both toward its daily limit');
  } finally {
    restore();
  }
});

function captureConsole(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => void lines.push(parts.join(' '));
  console.error = (...parts: unknown[]) => void lines.push(parts.join(' '));
  return { lines, restore: () => Object.assign(console, { log, error }) };
}

test('bitwrk admin: the policy sends large withdrawals to review; the processor leaves them; admin approve lets them through', async () => {
  const s = await setup();
  const dir = mkdtempSync(join(tmpdir(), 'bitwrk-admin-cli-'));
  const adminFile = join(dir, 'admin.wif');
  writeFileSync(adminFile, encodeWif(s.admin), { mode: 0o600 });
  const flags = ['--exchange', s.server.wsUrl, '--key-file', adminFile];
  const { lines, restore } = captureConsole();
  try {
    assert.equal(await main(['admin', 'policy', '--daily-limit', '1000000', '--manual-above', '40000', '--new-destination-delay', '0', ...flags]), 0);
    const { client } = await s.funded(200_000);
    const large = await client.requestWithdrawal('k1', DEST, 50_000);
    await s.pass();
    assert.equal(withdrawalOf(s, large.withdrawalId)?.state, 'requested', 'above the threshold: waits for the admin');
    assert.equal(await main(['admin', 'approve', large.withdrawalId, ...flags]), 0);
    assert.ok(lines.includes(`${large.withdrawalId}: approved`), lines.join('\n'));
    assert.equal(await main(['admin', 'approve', large.withdrawalId, ...flags]), 1, 'twice: refused with the reason');
    assert.ok(lines.some((line) => /withdrawal_wrong_state 5025/.test(line)), lines.join('\n'));
    await s.pass();
    assert.equal(withdrawalOf(s, large.withdrawalId)?.state, 'batched');
    assert.equal(await main(['admin', 'payouts', ...flags]), 0);
    assert.ok(lines.some((line) => /^b1: waits for the payer; 1 withdrawal\(s\)/m.test(line)), lines.join('\n'));
    assert.equal(await main(['admin', 'fail-batch', 'b1', '--reason', 'wrong destination, says the participant', ...flags]), 0, 'nobody signed it yet: it may fail');
    assert.equal(await main(['admin', 'refund', large.withdrawalId, ...flags]), 0);
    assert.deepEqual(s.server.exchange.core.funds.withdrawalsOf(s.admin.address), []);
  } finally {
    restore();
  }
});
