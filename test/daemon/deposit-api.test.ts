// Goal: a user funds the daemon's account from its local API (and withdraws from it: a key makes a
// retry the same withdrawal): POST /account/deposit-address gives
// a deposit address of the exchange with its BIP21 URI and a QR code (only to a caller with the
// token and a JSON body), GET /account then follows the payment from seen to credited; against an
// exchange without chain deposits the answer says so (409); end to end, the withdrawals are paid on
// chain with the payer signing. Method: a real exchange (with a devnet
// as its chain) and daemon (support/daemons.ts), requests over real HTTP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HDKey } from '@scure/bip32';
import { parseDepositKey } from '../../src/chain/deposit-keys.js';
import { Devnet, devnetBackend } from '../../src/chain/devnet.js';
import { auth, startMarket } from '../support/daemons.js';
import { main } from '../../src/cli/main.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accountXpub, newPayerKey, payerIdentity, payerPass, SignedLog } from '../../src/chain/payer-agent.js';
import { floatAddress } from '../../src/chain/payout-processor.js';
import { connectClient } from '../support/exchange.js';

const json = { 'content-type': 'application/json' };
const key = parseDepositKey(HDKey.fromMasterSeed(new Uint8Array(32).fill(11), { private: 0x04358394, public: 0x043587cf }).derive("m/84'/1'/0'").publicExtendedKey, 'regtest');

interface DepositAnswer {
  address: string;
  uri: string;
  fresh: boolean;
  qrSvg: string;
}

test('a deposit address with URI and QR code from the local API; the account follows the payment to its credit', async () => {
  const devnet = new Devnet({ seed: 4 });
  const market = await startMarket({ deposits: { key, backend: devnetBackend(devnet), pollMs: 3_600_000 } });
  try {
    const daemon = await market.daemon('funder');
    const ask = (body: string, headers: Record<string, string>) => fetch(`${daemon.apiUrl}/account/deposit-address`, { method: 'POST', body, headers });
    assert.equal((await ask('{}', json)).status, 401, 'no token');
    assert.equal((await ask('{}', auth(daemon))).status, 415, 'not a JSON body');
    const bad = await ask('{"amountSats": -5}', { ...json, ...auth(daemon) });
    assert.equal(bad.status, 400);
    const response = await ask('{"amountSats": 150000}', { ...json, ...auth(daemon) });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as DepositAnswer;
    assert.match(answer.address, /^bcrt1q[0-9a-z]{38}$/);
    assert.equal(answer.uri, `bitcoin:${answer.address}?amount=0.0015`);
    assert.match(answer.qrSvg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const account = async () => (await (await fetch(`${daemon.apiUrl}/account`, { headers: auth(daemon) })).json()) as { availableSats: number; deposits: { list: { status: string; confirmations: number }[] } };
    devnet.faucet.pay(answer.address, 150_000);
    await market.exchange.depositWatcher!.poll();
    assert.deepEqual((await account()).deposits.list.map((d) => [d.status, d.confirmations]), [['seen', 0]]);
    devnet.mine(3);
    await market.exchange.depositWatcher!.poll();
    const credited = await account();
    assert.equal(credited.availableSats, 150_000);
    assert.deepEqual(credited.deposits.list.map((d) => [d.status, d.confirmations]), [['credited', 3]]);
  } finally {
    await market.stop();
  }
});

test('an exchange without chain deposits: 409 deposits_disabled', async () => {
  const market = await startMarket();
  try {
    const daemon = await market.daemon('funder');
    const response = await fetch(`${daemon.apiUrl}/account/deposit-address`, { method: 'POST', body: '{}', headers: { ...json, ...auth(daemon) } });
    assert.equal(response.status, 409);
    assert.equal(((await response.json()) as { error: { name: string } }).error.name, 'deposits_disabled');
  } finally {
    await market.stop();
  }
});

test('a withdrawal from the local API: a key is required, a retry with it is the same withdrawal, a bad address is refused with its reason', async () => {
  const devnet = new Devnet({ seed: 6 });
  const market = await startMarket({ deposits: { key, backend: devnetBackend(devnet), pollMs: 3_600_000 } });
  try {
    const daemon = await market.daemon('withdrawer');
    await market.credit(daemon.identity.address, 50_000);
    const post = (body: object) => fetch(`${daemon.apiUrl}/withdrawals`, { method: 'POST', body: JSON.stringify(body), headers: { ...json, ...auth(daemon) } });
    const destination = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
    assert.equal((await post({ destination, amountSats: 20_000 })).status, 400, 'no key');
    const bad = await post({ key: 'k1', destination: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', amountSats: 20_000 });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { name: string } }).error.name, 'withdrawal_address_wrong_network');
    const first = await post({ key: 'k1', destination, amountSats: 20_000 });
    assert.equal(first.status, 201);
    assert.deepEqual(await first.json(), { withdrawalId: 'w1', state: 'requested', destination, amountSats: 20_000, repeated: false });
    const retry = await post({ key: 'k1', destination, amountSats: 20_000 });
    assert.equal(retry.status, 200);
    assert.equal(((await retry.json()) as { repeated: boolean }).repeated, true);
    const account = (await (await fetch(`${daemon.apiUrl}/account`, { headers: auth(daemon) })).json()) as { availableSats: number; payoutPendingSats: number; withdrawals: { withdrawalId: string; state: string }[] };
    assert.deepEqual([account.availableSats, account.payoutPendingSats], [30_000, 20_000], 'held once, not twice');
    assert.deepEqual(account.withdrawals.map((w) => [w.withdrawalId, w.state]), [['w1', 'requested']]);
  } finally {
    await market.stop();
  }
});

test('the CLI: bitwrk deposit prints the address, its URI and a QR code; bitwrk withdraw asks once per key; refusals exit 1 with the reason', async () => {
  const devnet = new Devnet({ seed: 7 });
  const market = await startMarket({ deposits: { key, backend: devnetBackend(devnet), pollMs: 3_600_000 } });
  const lines: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...parts: unknown[]) => void lines.push(parts.join(' '));
  console.error = (...parts: unknown[]) => void lines.push(parts.join(' '));
  try {
    const daemon = await market.daemon('cli-user');
    await market.credit(daemon.identity.address, 40_000);
    const flags = ['--daemon', daemon.apiUrl, '--token', daemon.apiToken];
    assert.equal(await main(['deposit', '--amount', '12000', ...flags]), 0);
    const address = lines.find((line) => line.startsWith('address: '))!.slice('address: '.length);
    assert.match(address, /^bcrt1q/);
    assert.ok(lines.includes(`uri:     bitcoin:${address}?amount=0.00012`));
    assert.ok(lines.some((line) => /[▀▄█]/.test(line)), 'a QR code in block characters');
    const destination = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
    assert.equal(await main(['withdraw', destination, '15000', '--key', 'cli-1', ...flags]), 0);
    assert.equal(await main(['withdraw', destination, '15000', '--key', 'cli-1', ...flags]), 0);
    assert.ok(lines.some((line) => line.includes('(requested before with this key: the same withdrawal)')));
    assert.equal(market.exchange.exchange.core.account(daemon.identity.address)?.payoutPendingSats, 15_000, 'held once');
    assert.equal(await main(['withdraw', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', '15000', '--key', 'cli-2', ...flags]), 1);
    assert.ok(lines.some((line) => line.startsWith('bitwrk withdraw: withdrawal_address_wrong_network: ')));
    assert.equal(await main(['withdraw', destination, '15000', ...flags]), 2, 'no key: a usage error');
  } finally {
    console.log = log;
    console.error = error;
    await market.stop();
  }
});

test('end to end on the devnet: a participant deposits, withdraws through the local API and the CLI, the payer signs, the withdrawals are paid exactly and completed', async () => {
  const devnet = new Devnet({ seed: 8 });
  const payerKey = newPayerKey('regtest', new Uint8Array(32).fill(12));
  const walletKey = parseDepositKey(accountXpub(payerKey), 'regtest');
  const market = await startMarket({
    deposits: { key: walletKey, backend: devnetBackend(devnet), pollMs: 3_600_000 },
    payouts: { pollMs: 3_600_000, batchIntervalMs: 0, confirmations: 2 },
    payerAddress: payerIdentity(payerKey).address,
  });
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.join(' '));
  try {
    const daemon = await market.daemon('withdrawer');
    const post = async (path: string, body: object) => fetch(`${daemon.apiUrl}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { ...json, ...auth(daemon) } });
    const { address } = (await (await post('/account/deposit-address', {})).json()) as DepositAnswer;
    devnet.faucet.pay(address, 120_000);
    devnet.faucet.pay(floatAddress(walletKey), 20_000); // the operator's float pays network fees
    devnet.mine(3);
    const pass = async () => {
      await market.exchange.depositWatcher!.poll();
      await market.exchange.payoutProcessor!.tick();
    };
    await pass();
    const api = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
    const cli = 'bcrt1qzyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs2ns5wu';
    assert.equal((await post('/withdrawals', { key: 'page-1', destination: api, amountSats: 30_000 })).status, 201);
    assert.equal(await main(['withdraw', cli, '25000', '--key', 'cli-1', '--daemon', daemon.apiUrl, '--token', daemon.apiToken]), 0);
    await pass();
    const { client, peer } = await connectClient(market.exchange.url, payerIdentity(payerKey), market.clock);
    const signedLog = new SignedLog(join(mkdtempSync(join(tmpdir(), 'bitwrk-payer-')), 'signed.jsonl'));
    const report = await payerPass({ key: payerKey, policy: { feeCapSats: 10_000, dailyLimitSats: 1_000_000 }, log: signedLog, nowMs: () => market.clock.now(), exchange: { payouts: () => peer.request('payouts', {}), submitPayout: (batchId, rawHex) => client.submitPayout(batchId, rawHex) } });
    peer.close(1000, 'done');
    assert.equal(report.signed.length, 1, 'one batch pays both');
    await pass();
    devnet.mine(2);
    await pass();
    await pass();
    const account = (await (await fetch(`${daemon.apiUrl}/account`, { headers: auth(daemon) })).json()) as { availableSats: number; payoutPendingSats: number; withdrawals: unknown[] };
    assert.deepEqual([account.availableSats, account.payoutPendingSats, account.withdrawals.length], [120_000 - 55_000, 0, 0]);
    assert.deepEqual(devnet.addressUtxos(api).map((utxo) => [utxo.txid, utxo.valueSats]), [[report.signed[0]!.txid, 30_000]]);
    assert.deepEqual(devnet.addressUtxos(cli).map((utxo) => [utxo.txid, utxo.valueSats]), [[report.signed[0]!.txid, 25_000]]);
  } finally {
    console.log = log;
    await market.stop();
  }
});
