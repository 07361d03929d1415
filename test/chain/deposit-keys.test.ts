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
import { HARDENED_OFFSET, HDKey } from '@scure/bip32';
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

/** BIP32 test vectors 3 and 4 (retention of leading zeros), copied from bip-0032.mediawiki: per chain, [path, xpub, xprv]. */
const LEADING_ZERO_VECTORS: Array<{ readonly seed: string; readonly chains: ReadonlyArray<readonly [string, string, string]> }> = [
  {
    seed: '4b381541583be4423346c643850da4b320e46a87ae3d2a4e6da11eba819cd4acba45d239319ac14f863b8d5ab5a0d0c64d2e8a1e7d1457df2e5a3c51c73235be',
    chains: [
      ['m', 'xpub661MyMwAqRbcEZVB4dScxMAdx6d4nFc9nvyvH3v4gJL378CSRZiYmhRoP7mBy6gSPSCYk6SzXPTf3ND1cZAceL7SfJ1Z3GC8vBgp2epUt13', 'xprv9s21ZrQH143K25QhxbucbDDuQ4naNntJRi4KUfWT7xo4EKsHt2QJDu7KXp1A3u7Bi1j8ph3EGsZ9Xvz9dGuVrtHHs7pXeTzjuxBrCmmhgC6'],
      ["m/0'", 'xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y', 'xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L'],
    ],
  },
  {
    seed: '3ddd5602285899a946114506157c7997e5444528f3003f6134712147db19b678',
    chains: [
      ['m', 'xpub661MyMwAqRbcGczjuMoRm6dXaLDEhW1u34gKenbeYqAix21mdUKJyuyu5F1rzYGVxyL6tmgBUAEPrEz92mBXjByMRiJdba9wpnN37RLLAXa', 'xprv9s21ZrQH143K48vGoLGRPxgo2JNkJ3J3fqkirQC2zVdk5Dgd5w14S7fRDyHH4dWNHUgkvsvNDCkvAwcSHNAQwhwgNMgZhLtQC63zxwhQmRv'],
      ["m/0'", 'xpub69AUMk3qDBi3uW1sXgjCmVjJ2G6WQoYSnNHyzkmdCHEhSZ4tBok37xfFEqHd2AddP56Tqp4o56AePAgCjYdvpW2PU2jbUPFKsav5ut6Ch1m', 'xprv9vB7xEWwNp9kh1wQRfCCQMnZUEG21LpbR9NPCNN1dwhiZkjjeGRnaALmPXCX7SgjFTiCTT6bXes17boXtjq3xLpcDjzEuGLQBM5ohqkao9G'],
      ["m/0'/1'", 'xpub6BJA1jSqiukeaesWfxe6sNK9CCGaujFFSJLomWHprUL9DePQ4JDkM5d88n49sMGJxrhpjazuXYWdMf17C9T5XnxkopaeS7jGk1GyyVziaMt', 'xprv9xJocDuwtYCMNAo3Zw76WENQeAS6WGXQ55RCy7tDJ8oALr4FWkuVoHJeHVAcAqiZLE7Je3vZJHxspZdFHfnBEjHqU5hG1Jaj32dVoS6XLT1'],
    ],
  },
];

test('BIP32 test vectors 3 and 4: keys with leading zeros keep them, in derivation and in the serialization', () => {
  for (const { seed, chains } of LEADING_ZERO_VECTORS) {
    const master = HDKey.fromMasterSeed(Buffer.from(seed, 'hex'));
    for (const [path, xpub, xprv] of chains) {
      const node = master.derive(path);
      assert.equal(node.publicExtendedKey, xpub, `${path} xpub`);
      assert.equal(node.privateExtendedKey, xprv, `${path} xprv`);
      // Parsed back, the key serializes to the same text: a dropped leading zero would shorten it.
      assert.equal(HDKey.fromExtendedKey(xpub).publicExtendedKey, xpub, `${path} xpub round trip`);
      assert.equal(HDKey.fromExtendedKey(xprv).privateExtendedKey, xprv, `${path} xprv round trip`);
    }
    // Each hardened child from its parent's parsed xprv alone (the vectors' chains are all hardened).
    for (let index = 1; index < chains.length; index += 1) {
      const [path, , xprv] = chains[index]!;
      const childIndex = HARDENED_OFFSET + Number(/\/(\d+)'$/.exec(path)![1]);
      assert.equal(HDKey.fromExtendedKey(chains[index - 1]![2]).deriveChild(childIndex).privateExtendedKey, xprv, `${path} from its parent's xprv`);
    }
  }
});

/** BIP32 test vector 5 (invalid extended keys), copied from bip-0032.mediawiki with the reason it gives. */
const INVALID_EXTENDED_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6LBpB85b3D2yc8sfvZU521AAwdZafEz7mnzBBsz4wKY5fTtTQBm', 'pubkey version / prvkey mismatch'],
  ['xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGTQQD3dC4H2D5GBj7vWvSQaaBv5cxi9gafk7NF3pnBju6dwKvH', 'prvkey version / pubkey mismatch'],
  ['xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Txnt3siSujt9RCVYsx4qHZGc62TG4McvMGcAUjeuwZdduYEvFn', 'invalid pubkey prefix 04'],
  ['xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGpWnsj83BHtEy5Zt8CcDr1UiRXuWCmTQLxEK9vbz5gPstX92JQ', 'invalid prvkey prefix 04'],
  ['xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6N8ZMMXctdiCjxTNq964yKkwrkBJJwpzZS4HS2fxvyYUA4q2Xe4', 'invalid pubkey prefix 01'],
  ['xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD9y5gkZ6Eq3Rjuahrv17fEQ3Qen6J', 'invalid prvkey prefix 01'],
  ['xprv9s2SPatNQ9Vc6GTbVMFPFo7jsaZySyzk7L8n2uqKXJen3KUmvQNTuLh3fhZMBoG3G4ZW1N2kZuHEPY53qmbZzCHshoQnNf4GvELZfqTUrcv', 'zero depth with non-zero parent fingerprint'],
  ['xpub661no6RGEX3uJkY4bNnPcw4URcQTrSibUZ4NqJEw5eBkv7ovTwgiT91XX27VbEXGENhYRCf7hyEbWrR3FewATdCEebj6znwMfQkhRYHRLpJ', 'zero depth with non-zero parent fingerprint'],
  ['xprv9s21ZrQH4r4TsiLvyLXqM9P7k1K3EYhA1kkD6xuquB5i39AU8KF42acDyL3qsDbU9NmZn6MsGSUYZEsuoePmjzsB3eFKSUEh3Gu1N3cqVUN', 'zero depth with non-zero index'],
  ['xpub661MyMwAuDcm6CRQ5N4qiHKrJ39Xe1R1NyfouMKTTWcguwVcfrZJaNvhpebzGerh7gucBvzEQWRugZDuDXjNDRmXzSZe4c7mnTK97pTvGS8', 'zero depth with non-zero index'],
  ['DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHGMQzT7ayAmfo4z3gY5KfbrZWZ6St24UVf2Qgo6oujFktLHdHY4', 'unknown extended key version'],
  ['DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHPmHJiEDXkTiJTVV9rHEBUem2mwVbbNfvT2MTcAqj3nesx8uBf9', 'unknown extended key version'],
  ['xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzF93Y5wvzdUayhgkkFoicQZcP3y52uPPxFnfoLZB21Teqt1VvEHx', 'private key 0 not in 1..n-1'],
  ['xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD5SDKr24z3aiUvKr9bJpdrcLg1y3G', 'private key n not in 1..n-1'],
  ['xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Q5JXayek4PRsn35jii4veMimro1xefsM58PgBMrvdYre8QyULY', 'invalid pubkey 020000000000000000000000000000000000000000000000000000000000000007'],
  ['xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHL', 'invalid checksum'],
];

/** Why parseDepositKey refuses each public (or unknown-version) key of vector 5, by the vector's reason. */
const DEPOSIT_KEY_REFUSALS: ReadonlyMap<string, RegExp> = new Map([
  ['pubkey version / prvkey mismatch', /key data starts with 0x00 \(private key data under a public version\)/],
  ['invalid pubkey prefix 04', /key data starts with 0x04, where a compressed public key starts with 02 or 03/],
  ['invalid pubkey prefix 01', /key data starts with 0x01, where a compressed public key starts with 02 or 03/],
  ['zero depth with non-zero parent fingerprint', /not a valid extended public key: .*zero depth with non-zero index\/parent fingerprint/],
  ['zero depth with non-zero index', /not a valid extended public key: .*zero depth with non-zero index\/parent fingerprint/],
  ['unknown extended key version', /unknown version 0x01010101/],
  ['invalid pubkey 020000000000000000000000000000000000000000000000000000000000000007', /not a valid extended public key: .*not on curve/],
]);

test('BIP32 test vector 5: every invalid extended key is refused by the library, and by parseDepositKey with the reason', () => {
  let refusedAsDepositKey = 0;
  for (const [text, reason] of INVALID_EXTENDED_KEYS) {
    // The library refuses every one, whatever its kind (its default versions are xpub/xprv).
    assert.throws(() => HDKey.fromExtendedKey(text), Error, `HDKey: ${reason}`);
    if (text.startsWith('xprv')) {
      // The exchange refuses any xprv before looking further; the last one fails its checksum first.
      const refusal = reason === 'invalid checksum' ? /checksum does not match/ : /xprv: an extended private key/;
      assert.throws(() => parseDepositKey(text, 'mainnet'), (error: unknown) => error instanceof DepositKeyError && refusal.test(error.message), `parseDepositKey: ${reason}`);
      continue;
    }
    const expected = DEPOSIT_KEY_REFUSALS.get(reason);
    assert.ok(expected !== undefined, reason);
    refusedAsDepositKey += 1;
    assert.throws(() => parseDepositKey(text, 'mainnet'), (error: unknown) => error instanceof DepositKeyError && expected.test(error.message), `parseDepositKey: ${reason}`);
  }
  assert.equal(refusedAsDepositKey, 8, 'six xpubs and the two of unknown version');
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
