// Goal: deposits work end to end on real transactions: a participant asks the exchange for an
// address over its socket, the devnet's faucet pays it with a signed transaction, and the watcher
// (reading the devnet through the unmodified Esplora adapter, over HTTP) records it seen, then
// credited at N confirmations, with the BTCPay/NBXplorer scenarios: replaying the chain changes
// nothing, two outputs are two deposits, RBF away and to us, a reorg before N, reorgs after the
// credit at depths 1, N and N+1, large deposits needing more confirmations, dust, and a watcher
// that was down for 10 blocks reaching the same state as one that watched throughout.
// Method: the production server composition (lmdb, journal, sockets) with a devnet; the watcher
// is polled by the test (its timer is set far out) so every step is deterministic.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HDKey } from '@scure/bip32';
import { parseDepositKey } from '../../src/chain/deposit-keys.js';
import { DEFAULT_CONFIRMATION_POLICY } from '../../src/chain/deposit-policy.js';
import { Devnet, devnetBackend } from '../../src/chain/devnet.js';
import { startDevnetServer, type DevnetServer } from '../../src/chain/devnet-server.js';
import { EsploraBackend } from '../../src/chain/esplora.js';
import type { ChainBackend } from '../../src/chain/backend.js';
import { realClock } from '../../src/clock.js';
import type { Identity } from '../../src/crypto/keys.js';
import { ExchangeClient } from '../../src/daemon/exchange-client.js';
import { exchangeProtocol } from '../../src/protocol/exchange.js';
import { startExchangeServer, type RunningExchangeServer } from '../../src/server/serve.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { newIdentity } from '../support/exchange.js';
import { TEST_HASH_ARTICLE } from '../../src/market/catalogue.js';

const EXCHANGE_ID = 'bitwrk-deposits';
const N = DEFAULT_CONFIRMATION_POLICY.confirmations;
/** The operator's wallet, elsewhere: the exchange gets only its account tpub. */
const ACCOUNT_TPUB = HDKey.fromMasterSeed(new Uint8Array(32).fill(7), { private: 0x04358394, public: 0x043587cf }).derive("m/84'/1'/0'").publicExtendedKey;
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Setup {
  readonly devnet: Devnet;
  readonly server: RunningExchangeServer;
  readonly client: (who: Identity) => Promise<ExchangeClient>;
  /** What the watcher raised for the operator. */
  readonly alerts: string[];
  /** An unsigned query over the socket. */
  readonly peer: () => Promise<RpcPeer<typeof exchangeProtocol>>;
  poll(): Promise<void>;
}

async function setup(options: { backend?: (devnet: Devnet, http: DevnetServer) => ChainBackend; devnet?: Devnet; dataDir?: string } = {}): Promise<Setup> {
  const devnet = options.devnet ?? new Devnet({ seed: 1 });
  const http = await startDevnetServer({ devnet });
  cleanups.push(() => http.close());
  const alerts: string[] = [];
  const server = await startExchangeServer({
    clock: realClock, host: '127.0.0.1', port: 0, dataDir: options.dataDir ?? mkdtempSync(join(tmpdir(), 'bitwrk-deposits-')),
    exchangeId: EXCHANGE_ID, network: 'testnet', adminAddress: newIdentity().address, workers: 0,
    deposits: {
      key: parseDepositKey(ACCOUNT_TPUB, 'regtest'),
      backend: (options.backend ?? ((_devnet, served) => new EsploraBackend(served.url)))(devnet, http),
      pollMs: 3_600_000, // the test polls
      onAlert: (message) => alerts.push(message),
    },
  });
  cleanups.push(() => server.stop());
  const peer = async (): Promise<RpcPeer<typeof exchangeProtocol>> => {
    const connected = new RpcPeer(await connectWebSocket(server.wsUrl, { clock: realClock }), exchangeProtocol, {}, { clock: realClock });
    cleanups.push(async () => connected.close(1000, 'done'));
    return connected;
  };
  const client = async (who: Identity): Promise<ExchangeClient> => new ExchangeClient(await peer(), who, EXCHANGE_ID, realClock);
  return { devnet, server, client, peer, alerts, poll: async () => void (await server.depositWatcher!.poll()) };
}

function account(s: Setup, who: Identity) {
  return s.server.exchange.core.account(who.address) ?? { availableSats: 0, depositPendingSats: 0, frozen: false };
}

test('a payment is seen, credited at N confirmations, shown in the account query; replaying changes nothing', async () => {
  const s = await setup();
  const alice = newIdentity();
  const client = await s.client(alice);
  const answer = await client.requestDepositAddress(25_000);
  assert.match(answer.address, /^bcrt1q/);
  assert.equal(answer.uri, `bitcoin:${answer.address}?amount=0.00025`);
  const txid = s.devnet.faucet.pay(answer.address, 25_000);
  await s.poll();
  assert.deepEqual([account(s, alice).depositPendingSats, account(s, alice).availableSats], [25_000, 0], 'seen in the mempool: pending, not spendable');
  for (let block = 1; block < N; block++) {
    s.devnet.mine(1);
    await s.poll();
    assert.equal(account(s, alice).availableSats, 0, `${block} confirmation(s): not yet`);
  }
  s.devnet.mine(1);
  await s.poll();
  assert.deepEqual([account(s, alice).depositPendingSats, account(s, alice).availableSats], [0, 25_000], `credited at ${N}`);
  const view = await (await s.peer()).request('account', { address: alice.address });
  assert.deepEqual(view.deposits.list, [{ depositId: `${txid}:0`, address: answer.address, amountSats: 25_000, status: 'credited', confirmations: N, needed: N }]);
  assert.deepEqual(view.deposits.addresses, [{ address: answer.address, index: 0, used: true }]);
  const before = s.server.exchange.core.exportState();
  for (let replay = 0; replay < 3; replay++) await s.poll();
  assert.deepEqual(s.server.exchange.core.exportState().deposits, before.deposits, 'the same blocks three times: nothing changes');
  assert.equal(s.server.exchange.core.account(alice.address)?.availableSats, 25_000);
});

test('two outputs of one transaction are two deposits; dust is recorded, not credited; large deposits wait longer', async () => {
  const s = await setup();
  const bob = newIdentity();
  const { address } = await (await s.client(bob)).requestDepositAddress();
  const large = DEFAULT_CONFIRMATION_POLICY.largeSats;
  s.devnet.faucet.pay(address, 3_000, { outputs: [{ address, amountSats: 4_000 }, { address, amountSats: 500 }, { address, amountSats: large }] });
  s.devnet.mine(N);
  await s.poll();
  assert.equal(account(s, bob).availableSats, 7_000, 'the two small ones at N; dust never');
  assert.equal(account(s, bob).depositPendingSats, large);
  const view = s.server.depositWatcher!.depositsOf(bob.address).deposits;
  assert.deepEqual(view.map((d) => d.status).sort(), ['confirming', 'credited', 'credited', 'too_small']);
  s.devnet.mine(DEFAULT_CONFIRMATION_POLICY.largeConfirmations - N);
  await s.poll();
  assert.equal(account(s, bob).availableSats, 7_000 + large, 'the large one at its own confirmations');
});

test('RBF: a deposit replaced away is dropped; replaced by one that still pays us, the new outpoint counts', async () => {
  const s = await setup();
  const carol = newIdentity();
  const { address } = await (await s.client(carol)).requestDepositAddress();
  const elsewhere = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
  const first = s.devnet.faucet.pay(address, 10_000);
  await s.poll();
  assert.equal(account(s, carol).depositPendingSats, 10_000);
  s.devnet.faucet.replace(first, { payTo: [{ address: elsewhere, amountSats: 10_000 }] });
  await s.poll();
  assert.equal(account(s, carol).depositPendingSats, 0, 'replaced away: dropped');
  const second = s.devnet.faucet.pay(address, 12_000);
  await s.poll();
  const third = s.devnet.faucet.replace(second, { payTo: [{ address, amountSats: 12_000 }] });
  await s.poll();
  assert.deepEqual(s.server.exchange.core.funds.liveDeposits().map((d) => d.id), [`${third}:0`], 'the replacement paying us is the deposit');
  s.devnet.mine(N);
  await s.poll();
  assert.equal(account(s, carol).availableSats, 12_000);
});

test('a reorg before N sends the deposit back to confirming, or drops it when the new branch double-spends it', async () => {
  const s = await setup();
  const dave = newIdentity();
  const { address } = await (await s.client(dave)).requestDepositAddress();
  const kept = s.devnet.faucet.pay(address, 20_000);
  s.devnet.mine(1);
  await s.poll();
  s.devnet.invalidate(s.devnet.tip().hash); // confirmed, then unconfirmed again
  await s.poll();
  assert.equal(account(s, dave).depositPendingSats, 20_000, 'back in the mempool: still pending');
  assert.equal(s.server.depositWatcher!.depositsOf(dave.address).deposits[0]?.status, 'seen');
  s.devnet.mine(1);
  const spent = s.devnet.faucet.pay(address, 30_000);
  s.devnet.mine(1);
  await s.poll();
  s.devnet.reorg(2, { doubleSpend: [spent] }); // a two-block reorg: `kept` is re-mined, `spent` is double-spent
  await s.poll();
  assert.deepEqual(s.server.exchange.core.funds.liveDeposits().map((d) => d.id), [`${kept}:0`]);
  assert.equal(account(s, dave).depositPendingSats + account(s, dave).availableSats, 20_000);
});

test('a reorg after the credit: depth 1 changes nothing, depth N reverses it (the account owes and is frozen), depth N+1 re-mined moves it', async () => {
  const s = await setup();
  const erin = newIdentity();
  const client = await s.client(erin);
  const pay = async (amount: number): Promise<string> => {
    const { address } = await client.requestDepositAddress();
    const txid = s.devnet.faucet.pay(address, amount);
    s.devnet.mine(N);
    await s.poll();
    return txid;
  };
  // Depth 1: the credit's block is N deep; a one-block reorg does not touch it.
  const first = await pay(40_000);
  const firstBlock = s.server.exchange.core.funds.liveDeposits()[0]!.block!.hash;
  s.devnet.reorg(1);
  await s.poll();
  assert.equal(s.server.exchange.core.funds.liveDeposits()[0]!.block!.hash, firstBlock);
  assert.equal(account(s, erin).availableSats, 40_000);
  // Depth N+1, re-mined at once in a longer branch: the output is confirmed deeply enough elsewhere.
  s.devnet.reorg(N + 1);
  await s.poll();
  const moved = s.server.exchange.core.funds.liveDeposits().find((d) => d.id === `${first}:0`)!;
  assert.notEqual(moved.block!.hash, firstBlock, 'moved to its new block');
  assert.equal(account(s, erin).availableSats, 40_000);
  assert.deepEqual(s.alerts, [], 'moved, never reversed on the way');
  // Depth N with a double spend after the money was spent: reversed through the ledger.
  const second = await pay(50_000);
  const transfer = await client.placeBid(TEST_HASH_ARTICLE, 'buy', 80_000).catch((error: unknown) => error);
  assert.ok(!(transfer instanceof Error), `a bid spends the money: ${String(transfer)}`);
  s.devnet.reorg(N, { doubleSpend: [second] });
  await s.poll();
  const owing = account(s, erin);
  assert.ok(owing.availableSats < 0 && owing.frozen, `reversed after spending: ${owing.availableSats}, frozen ${owing.frozen}`);
  assert.equal(s.alerts.length, 2);
  assert.match(s.alerts[0]!, new RegExp(`deposit ${second}:0: its block left the best chain after the credit`));
  assert.match(s.alerts[1]!, new RegExp(`account ${erin.address} owes ${-owing.availableSats} sat after a reversed deposit`));
  assert.ok(!s.server.exchange.core.funds.liveDeposits().some((d) => d.id === `${second}:0`));
});

test('a watcher down while 10 blocks with 5 deposits (one reorged out) are mined reaches the same state as one that watched throughout', async () => {
  // Two exchanges on twin devnets (same seed, same transactions): one polls after every block, one only at the end.
  const twins = [new Devnet({ seed: 9 }), new Devnet({ seed: 9 })];
  const watching = await setup({ devnet: twins[0]!, backend: (devnet) => devnetBackend(devnet) });
  const sleeping = await setup({ devnet: twins[1]!, backend: (devnet) => devnetBackend(devnet) });
  const who = newIdentity();
  const addresses: string[] = [];
  for (const s of [watching, sleeping]) addresses.push((await (await s.client(who)).requestDepositAddress()).address);
  assert.equal(addresses[0], addresses[1], 'the same key and index give the same address');
  const script = async (s: Setup, pollEachBlock: boolean): Promise<void> => {
    const step = async (): Promise<void> => {
      if (pollEachBlock) await s.poll();
    };
    const payments = [];
    for (let block = 0; block < 10; block++) {
      if (block % 2 === 0) payments.push(s.devnet.faucet.pay(addresses[0]!, 10_000 + block));
      s.devnet.mine(1);
      await step();
    }
    s.devnet.reorg(3, { doubleSpend: [], drop: [payments[4]!] });
    await step();
    await s.poll();
  };
  await script(watching, true);
  await script(sleeping, false);
  const view = (s: Setup) => ({ deposits: s.server.exchange.core.funds.liveDeposits(), account: s.server.exchange.core.account(who.address), closed: s.server.exchange.core.exportState().closedDepositIds });
  assert.deepEqual(view(sleeping), view(watching));
  assert.equal(view(watching).deposits.length, 4, 'five deposits, one reorged out');
});

test('1,000 participants asking at once over sockets get 1,000 distinct addresses', async () => {
  const s = await setup({ backend: (devnet) => devnetBackend(devnet) });
  const clients = await Promise.all(Array.from({ length: 10 }, () => s.peer()));
  const answers = await Promise.all(Array.from({ length: 1_000 }, (_, n) => new ExchangeClient(clients[n % 10]!, newIdentity(), EXCHANGE_ID, realClock).requestDepositAddress()));
  assert.equal(new Set(answers.map((answer) => answer.index)).size, 1_000);
  assert.equal(new Set(answers.map((answer) => answer.address)).size, 1_000);
  assert.deepEqual(answers.map((answer) => answer.index).sort((a, b) => a - b), [...Array(1_000).keys()]);
  assert.ok(answers.every((answer) => answer.fresh));
});

test('credits and reversals are journalled: a restarted exchange has the same deposits and the watcher finds nothing to redo', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bitwrk-deposits-restart-'));
  const devnet = new Devnet({ seed: 6 });
  const first = await setup({ devnet, dataDir, backend: (chain) => devnetBackend(chain) });
  const frank = newIdentity();
  const { address } = await (await first.client(frank)).requestDepositAddress();
  const kept = devnet.faucet.pay(address, 30_000);
  const lost = devnet.faucet.pay(address, 40_000);
  devnet.mine(N);
  await first.poll();
  devnet.reorg(N, { doubleSpend: [lost] }); // `kept` re-mined, `lost` double-spent after its credit
  await first.poll();
  const before = { deposits: first.server.exchange.core.funds.liveDeposits(), account: first.server.exchange.core.account(frank.address) };
  assert.deepEqual(before.deposits.map((d) => d.id), [`${kept}:0`]);
  await first.server.stop();
  const second = await setup({ devnet, dataDir, backend: (chain) => devnetBackend(chain) });
  assert.deepEqual({ deposits: second.server.exchange.core.funds.liveDeposits(), account: second.server.exchange.core.account(frank.address) }, before);
  const report = await second.server.depositWatcher!.poll();
  assert.deepEqual(report.recorded, {}, 'nothing to redo after the restart');
});
