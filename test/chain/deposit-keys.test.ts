// Goal: deposit addresses are derived from an account-level extended public key exactly as wallets
// derive them (BIP32, BIP84, BIP86 vectors), and a private key, a key of another network or a
// malformed one is refused with a reason. Method: published test vectors (the BIP84/BIP86 vectors
// use the seed of "abandon abandon ... about"); regtest addresses are the testnet ones re-encoded
// with the regtest prefix by an independent bech32 step; `bitwrk exchange` run as a child process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bech32 } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { depositAddress, DepositKeyError, parseDepositKey } from '../../src/chain/deposit-keys.js';

/** BIP39 seed of "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", no passphrase. */
const ABANDON_SEED = Buffer.from('5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4', 'hex');
const ZPUB = { private: 0x04b2430c, public: 0x04b24746 };
const VPUB = { private: 0x045f18bc, public: 0x045f1cf6 };

test('BIP32 test vectors 1 and 2: public derivation from public keys matches the vectors', () => {
  const seed1 = HDKey.fromMasterSeed(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
  assert.equal(seed1.publicExtendedKey, 'xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8');
  const m0h = seed1.derive("m/0'");
  assert.equal(m0h.publicExtendedKey, 'xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw');
  // m/0H/1 from the public m/0H alone (what the exchange does with its key).
  assert.equal(HDKey.fromExtendedKey(m0h.publicExtendedKey).deriveChild(1).publicExtendedKey, 'xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ');
  const m0h12h = seed1.derive("m/0'/1/2'");
  assert.equal(HDKey.fromExtendedKey(m0h12h.publicExtendedKey).deriveChild(2).publicExtendedKey, 'xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV');
  // Vector 2: m/0 from m's public key alone.
  const seed2 = HDKey.fromMasterSeed(Buffer.from('fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542', 'hex'));
  assert.equal(seed2.publicExtendedKey, 'xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB');
  assert.equal(HDKey.fromExtendedKey(seed2.publicExtendedKey).deriveChild(0).publicExtendedKey, 'xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH');
});

test('BIP84: the zpub of m/84\'/0\'/0\' gives the vector\'s first receive addresses', () => {
  const account = HDKey.fromMasterSeed(ABANDON_SEED, ZPUB).derive("m/84'/0'/0'");
  const zpub = account.publicExtendedKey;
  assert.equal(zpub, 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs');
  const key = parseDepositKey(zpub, 'mainnet');
  assert.equal(depositAddress(key, 0), 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
  assert.equal(depositAddress(key, 1), 'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g');
  // The same account as an xpub, or a descriptor, gives the same addresses.
  const xpub = HDKey.fromMasterSeed(ABANDON_SEED).derive("m/84'/0'/0'").publicExtendedKey;
  assert.equal(depositAddress(parseDepositKey(xpub, 'mainnet'), 0), 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
  assert.equal(depositAddress(parseDepositKey(`wpkh([73c5da0a/84h/0h/0h]${xpub}/0/*)`, 'mainnet'), 1), 'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g');
});

test('BIP86: the taproot vector\'s first address, from the xpub with the option and from a tr() descriptor', () => {
  const xpub = HDKey.fromMasterSeed(ABANDON_SEED).derive("m/86'/0'/0'").publicExtendedKey;
  assert.equal(xpub, 'xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ');
  assert.equal(depositAddress(parseDepositKey(xpub, 'mainnet', { taproot: true }), 0), 'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr');
  assert.equal(depositAddress(parseDepositKey(`tr(${xpub}/0/*)`, 'mainnet'), 0), 'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr');
});

test('testnet and regtest addresses from a vpub', () => {
  const vpub = HDKey.fromMasterSeed(ABANDON_SEED, VPUB).derive("m/84'/1'/0'").publicExtendedKey;
  assert.ok(vpub.startsWith('vpub'));
  const testnet = depositAddress(parseDepositKey(vpub, 'testnet'), 0);
  assert.equal(testnet, 'tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl');
  const regtest = depositAddress(parseDepositKey(vpub, 'regtest'), 0);
  const { words } = bech32.decode(testnet as `${string}1${string}`);
  assert.equal(regtest, bech32.encode('bcrt', words));
});

test('private keys, other networks, nested segwit and malformed keys are refused, saying why', () => {
  const master = HDKey.fromMasterSeed(ABANDON_SEED, ZPUB).derive("m/84'/0'/0'");
  const xAccount = HDKey.fromMasterSeed(ABANDON_SEED).derive("m/84'/0'/0'");
  const vpub = HDKey.fromMasterSeed(ABANDON_SEED, VPUB).derive("m/84'/1'/0'").publicExtendedKey;
  const cases: Array<[string, RegExp, string?]> = [
    [master.privateExtendedKey, /zprv: an extended private key; the exchange takes only the account's public key/],
    [xAccount.privateExtendedKey, /xprv: an extended private key/],
    [`wpkh(${xAccount.privateExtendedKey}/0/*)`, /xprv: an extended private key/],
    [master.publicExtendedKey, /zpub: a mainnet key for a testnet exchange/, 'testnet'],
    [vpub, /vpub: a testnet key for a mainnet exchange/],
    [HDKey.fromMasterSeed(ABANDON_SEED, { private: 0x049d7878, public: 0x049d7cb2 }).derive("m/49'/0'/0'").publicExtendedKey, /ypub: nested segwit/],
    [`${master.publicExtendedKey.slice(0, -1)}x`, /checksum does not match/],
    ['xpub123', /expected 111 base58 characters, got 7/],
    [HDKey.fromMasterSeed(ABANDON_SEED).publicExtendedKey, /depth 0; give the account-level key/],
    [`sh(wpkh(${xAccount.publicExtendedKey}/0/*))`, /only wpkh\(KEY\/0\/\*\) and tr\(KEY\/0\/\*\) descriptors/],
  ];
  for (const [text, reason, network] of cases) {
    assert.throws(() => parseDepositKey(text, (network ?? 'mainnet') as 'mainnet'), (error: unknown) => error instanceof DepositKeyError && reason.test(error.message), text.slice(0, 20));
  }
  assert.throws(() => parseDepositKey(master.publicExtendedKey, 'mainnet', { taproot: true }), /zpub is a key for native segwit \(BIP84\) addresses, not taproot/);
  assert.throws(() => depositAddress(parseDepositKey(master.publicExtendedKey, 'mainnet'), 2 ** 31), RangeError);
});

test('bitwrk exchange --deposit-key: a private key stops it at start with the reason; a public one prints its first addresses', async () => {
  const home = mkdtempSync(join(tmpdir(), 'bitwrk-deposit-key-'));
  const run = (args: string[], untilLine?: RegExp) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/bitwrk.js', 'exchange', '--port', '0', ...args], { env: { ...process.env, BITWRK_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let stopping = false;
      child.stdout.on('data', (data: Buffer) => {
        stdout += data.toString();
        if (stopping || untilLine?.test(stdout) !== true) return;
        stopping = true; // once: a second SIGTERM during the shutdown would kill it
        child.kill('SIGTERM');
      });
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const account = HDKey.fromMasterSeed(ABANDON_SEED, VPUB).derive("m/84'/1'/0'");
  const refused = await run(['--network', 'testnet', '--deposit-key', account.privateExtendedKey]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /--deposit-key: vprv: an extended private key/);
  assert.doesNotMatch(refused.stderr + refused.stdout, new RegExp(account.privateExtendedKey), 'the private key is not echoed');
  const wrongNetwork = await run(['--network', 'regtest', '--deposit-key', HDKey.fromMasterSeed(ABANDON_SEED, ZPUB).derive("m/84'/0'/0'").publicExtendedKey]);
  assert.equal(wrongNetwork.code, 2);
  assert.match(wrongNetwork.stderr, /zpub: a mainnet key for a regtest exchange/);
  const served = await run(['--network', 'testnet', '--deposit-key', account.publicExtendedKey], /deposits: .*\n/);
  assert.match(served.stdout, /deposits: {2}BIP84 segwit, first addresses tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl, tb1q/);
  assert.equal(served.code, 0);
});
