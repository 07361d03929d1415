// Goal: a payout survives kill -9 at each point between a chain action and its journal record:
// after the signed transaction is journalled and before its broadcast, after the broadcast and
// before it is recorded, and after the confirmation and before the ledger's completion. Each
// restart converges: the withdrawal is completed, paid exactly once (one output of its amount
// at its destination), and nothing is lost from the participant's balance.
// Method: the real `bitwrk exchange --chain esplora:URL --payouts` as a child process, killed by
// its own fault injection (BITWRK_CRASH_AT, which sends itself SIGKILL at that point), then
// started again on the same data directory; the devnet (and its Esplora server) lives in this
// process, so the chain outlives the exchange. The payer signs over the socket as `bitwrk payer`
// does. Waits are for a real process polling a real chain once a second: no virtual clock reaches it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseDepositKey } from '../../src/chain/deposit-keys.js';
import { Devnet } from '../../src/chain/devnet.js';
import { startDevnetServer } from '../../src/chain/devnet-server.js';
import { accountXpub, newPayerKey, payerIdentity, payerPass, SignedLog } from '../../src/chain/payer-agent.js';
import { floatAddress, type PayoutCrashPoint } from '../../src/chain/payout-processor.js';
import { realClock } from '../../src/clock.js';
import { ExchangeClient } from '../../src/daemon/exchange-client.js';
import { exchangeProtocol } from '../../src/protocol/exchange.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { newIdentity } from '../support/exchange.js';

const DEST = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
const devnet = new Devnet({ seed: 77 });
const http = await startDevnetServer({ devnet });
const children = new Set<ChildProcess>();
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await http.close();
});

interface Running {
  readonly child: ChildProcess;
  readonly wsUrl: string;
  readonly exited: Promise<string | number | null>;
}

function startExchange(dataDir: string, flags: readonly string[], crashAt?: PayoutCrashPoint): Promise<Running> {
  const child = spawn(process.execPath, ['bin/bitwrk.js', 'exchange', '--port', '0', '--data-dir', dataDir, ...flags], {
    env: { ...process.env, BITWRK_HOME: dataDir, ...(crashAt === undefined ? {} : { BITWRK_CRASH_AT: crashAt }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const output: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<string | number | null>((resolve) => child.once('exit', (code, signal) => {
    children.delete(child);
    resolve(signal ?? code);
  }));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      const match = /WebSocket: (\S+)/.exec(line);
      if (match) resolve({ child, wsUrl: match[1]!, exited });
    });
    void exited.then((code) => reject(new Error(`the exchange exited (${code}) before serving: ${output.join('\n')}`)));
  });
}

/** Polls `check` every 100 ms (mining a block each second when asked) until it holds. */
async function until(what: string, check: () => Promise<boolean> | boolean, options: { mine?: boolean; timeoutMs?: number } = {}): Promise<void> {
  const deadline = realClock.now() + (options.timeoutMs ?? 30_000);
  for (let round = 1; ; round++) {
    if (await check()) return;
    if (realClock.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    if (options.mine === true && round % 10 === 0) devnet.mine(1);
    await new Promise((resolve) => realClock.setTimer(() => resolve(undefined), 100));
  }
}

const POINTS: readonly PayoutCrashPoint[] = ['signed-before-broadcast', 'broadcast-before-record', 'confirmed-before-complete'];

for (const [round, point] of POINTS.entries()) {
  test(`kill -9 at ${point}: the restarted exchange converges; the withdrawal is paid once and nothing is lost`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bitwrk-payout-crash-'));
    const payerKey = newPayerKey('regtest', new Uint8Array(32).fill(90 + round));
    const xpub = accountXpub(payerKey);
    const admin = newIdentity();
    const destination = DEST;
    const flags = ['--network', 'regtest', '--admin', admin.address, '--deposit-key', xpub, '--chain', `esplora:${http.url}`, '--chain-poll', '1', '--confirmations', '1',
      '--payouts', '--payer', payerIdentity(payerKey).address, '--batch-interval', '0', '--payout-confirmations', '2', '--workers', '1'];
    const before = devnet.addressUtxos(destination).length;
    devnet.faucet.pay(floatAddress(parseDepositKey(xpub, 'regtest')), 20_000);
    let exchange = await startExchange(dataDir, flags, point);
    const connect = async (url: string) => new RpcPeer(await connectWebSocket(url, { clock: realClock }), exchangeProtocol, {}, { clock: realClock });
    let peer = await connect(exchange.wsUrl);
    const alice = newIdentity();
    const exchangeId = (await peer.request('info', {})).exchangeId;
    const aliceClient = new ExchangeClient(peer, alice, exchangeId, realClock);
    const { address } = await aliceClient.requestDepositAddress();
    devnet.faucet.pay(address, 100_000);
    devnet.mine(1);
    await until('the deposit is credited', async () => (await peer.request('account', { address: alice.address })).availableSats === 100_000);
    const amount = 30_000 + round;
    const { withdrawalId } = await aliceClient.requestWithdrawal(`k-${round}`, destination, amount);
    await until('a batch for the payer', async () => (await peer.request('payouts', {})).batches.length === 1);
    const payer = new ExchangeClient(peer, payerIdentity(payerKey), exchangeId, realClock);
    const log = new SignedLog(join(dataDir, 'payer.signed.jsonl'));
    const signed = await payerPass({ key: payerKey, policy: { feeCapSats: 50_000, dailyLimitSats: 10_000_000 }, log, nowMs: () => realClock.now(), exchange: { payouts: () => peer.request('payouts', {}), submitPayout: (batchId, rawHex) => payer.submitPayout(batchId, rawHex) } });
    const txid = signed.signed[0]!.txid;
    // The exchange kills itself at the point (mining moves the later points along).
    let killed: string | number | null = null;
    void exchange.exited.then((how) => (killed = how));
    await until(`the kill at ${point}`, () => killed !== null, { mine: point === 'confirmed-before-complete' });
    assert.equal(killed, 'SIGKILL');
    if (point === 'signed-before-broadcast') assert.equal(devnet.transaction(txid), undefined, 'killed before anything was sent');
    else assert.ok(devnet.transaction(txid) !== undefined, 'the transaction was out before the kill');
    peer.close();

    exchange = await startExchange(dataDir, flags);
    peer = await connect(exchange.wsUrl);
    const account = async () => peer.request('account', { address: alice.address });
    await until('the withdrawal completes after the restart', async () => (await account()).withdrawals.length === 0, { mine: true });
    const final = await account();
    assert.deepEqual([final.availableSats, final.payoutPendingSats], [100_000 - amount, 0], 'the balance: the deposit less the one withdrawal');
    const paid = devnet.addressUtxos(destination).slice(0, devnet.addressUtxos(destination).length - before);
    assert.deepEqual(paid.map((utxo) => [utxo.txid, utxo.valueSats]), [[txid, amount]], 'paid once, by the signed transaction journalled before the kill');
    assert.equal(withdrawalId, `w1`);
    peer.close();
    exchange.child.kill('SIGTERM');
    assert.equal(await exchange.exited, 0);
  });
}
