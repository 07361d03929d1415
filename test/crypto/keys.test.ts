// Goal: identities survive the round trip through WIF and the key file, the key file is created
// safely and refused when it is not, and addresses parse per network. Method: fast-check over
// random keys; real files in a temporary directory, with their modes checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { decodeWif, encodeWif, identityFromPrivateKey } from '../../src/crypto/keys.js';
import { createKeyFile, loadKeyFile, loadOrCreateKeyFile } from '../../src/crypto/keyfile.js';
import { addressFromPublicKey, parseAddress } from '../../src/crypto/address.js';

const privateKeyArbitrary = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((bytes) => bytes.some((byte) => byte !== 0) && bytes[0]! < 0xff);
const networkArbitrary = fc.constantFrom('mainnet' as const, 'testnet' as const, 'regtest' as const);

test('WIF round-trips the key, its compression and its network', () => {
  fc.assert(
    fc.property(privateKeyArbitrary, fc.boolean(), networkArbitrary, (privateKey, compressed, network) => {
      const identity = identityFromPrivateKey(privateKey, network, compressed);
      const decoded = decodeWif(encodeWif(identity), network);
      assert.notEqual(typeof decoded, 'string');
      if (typeof decoded === 'string') return;
      assert.deepEqual(decoded.privateKey, identity.privateKey);
      assert.equal(decoded.compressed, compressed);
      assert.equal(decoded.address, identity.address);
    }),
    { numRuns: 100 },
  );
});

test('a WIF key of another network or a malformed one is refused with a reason', () => {
  const identity = identityFromPrivateKey(new Uint8Array(32).fill(3), 'mainnet');
  assert.equal(decodeWif(encodeWif(identity), 'testnet'), 'the key is for mainnet, expected testnet');
  const testnet = identityFromPrivateKey(new Uint8Array(32).fill(3), 'regtest', false);
  assert.equal(decodeWif(encodeWif(testnet), 'mainnet'), 'the key is for testnet/regtest, expected mainnet');
  assert.match(encodeWif(testnet), /^9/, 'an uncompressed testnet WIF starts with 9');
  assert.match(encodeWif(identity), /^[KL]/, 'a compressed mainnet WIF starts with K or L');
  assert.match(String(decodeWif('5Kb8kLf9zgWQnogidDA76MzPL6TsZZY36hWXMssSzNydYXYB9KX', 'mainnet')), /not a valid WIF/);
});

test('addresses carry their network: mainnet starts with 1, testnet and regtest with m or n', () => {
  fc.assert(
    fc.property(privateKeyArbitrary, networkArbitrary, (privateKey, network) => {
      const { address } = identityFromPrivateKey(privateKey, network);
      assert.match(address, network === 'mainnet' ? /^1/ : /^[mn]/);
      assert.deepEqual(parseAddress(address, network).ok, true);
      const other = network === 'mainnet' ? 'testnet' : 'mainnet';
      const wrong = parseAddress(address, other);
      assert.equal(wrong.ok ? 'ok' : wrong.error, 'address_wrong_network');
    }),
    { numRuns: 50 },
  );
});

// Test errors by descending precedence.
test('malformed addresses are address_invalid with a detail', () => {
  for (const text of ['', 'x', '1JwSSubhmg6iPtRjtyqhUYYH7bZg3Lfy1X', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq']) {
    const result = parseAddress(text);
    assert.equal(result.ok ? 'ok' : result.error, 'address_invalid', text);
  }
  assert.throws(() => addressFromPublicKey(new Uint8Array(20), 'mainnet'), RangeError);
});

test('the key file is created with mode 0600 in a 0700 directory, atomically, and loads back', () => {
  const directory = join(mkdtempSync(join(tmpdir(), 'bitwrk-key-')), 'nested');
  const path = join(directory, 'key.wif');
  const { identity, created } = loadOrCreateKeyFile(path, 'testnet');
  assert.equal(created, true);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(directory).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(directory), ['key.wif'], 'no temporary file is left behind');
  assert.match(readFileSync(path, 'utf8'), /^c[1-9A-HJ-NP-Za-km-z]{51}\n$/);
  const again = loadOrCreateKeyFile(path, 'regtest');
  assert.equal(again.created, false);
  assert.equal(again.identity.address, identity.address, 'testnet and regtest share the key format');
});

test('an existing key file is never overwritten, even a broken one', () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-key-'));
  const path = join(directory, 'key.wif');
  writeFileSync(path, 'not a key\n', { mode: 0o600 });
  assert.throws(() => createKeyFile(path, 'mainnet'), { name: 'KeyFileError', message: /exists already; it is never overwritten/ });
  assert.throws(() => loadOrCreateKeyFile(path, 'mainnet'), { name: 'KeyFileError', message: /not a valid WIF/ });
  assert.equal(readFileSync(path, 'utf8'), 'not a key\n');
  assert.deepEqual(readdirSync(directory), ['key.wif']);
});

// Test errors by descending precedence: missing, unsafe mode, other network, malformed.
test('a key file that is missing, open to group or others, of another network or corrupt is refused with the fix', () => {
  const directory = mkdtempSync(join(tmpdir(), 'bitwrk-key-'));
  const path = join(directory, 'key.wif');
  assert.throws(() => loadKeyFile(path, 'mainnet'), { name: 'KeyFileError', message: new RegExp(`key file ${path} cannot be read`) });
  createKeyFile(path, 'mainnet');
  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o700 | 0o010]) {
    chmodSync(path, mode);
    const shown = (mode & 0o777).toString(8).padStart(4, '0');
    assert.throws(() => loadKeyFile(path, 'mainnet'), {
      name: 'KeyFileError',
      message: `key file ${path} has mode ${shown}: group or others can read or write it. Fix it with: chmod 600 ${path}`,
    });
  }
  chmodSync(path, 0o400);
  assert.equal(typeof loadKeyFile(path, 'mainnet').address, 'string', 'owner-only modes are fine');
  chmodSync(path, 0o600);
  assert.throws(() => loadKeyFile(path, 'testnet'), { name: 'KeyFileError', message: `key file ${path}: the key is for mainnet, expected testnet` });
  writeFileSync(path, 'garbage\n', { mode: 0o600 });
  assert.throws(() => loadKeyFile(path, 'mainnet'), { name: 'KeyFileError', message: new RegExp(`key file ${path}: not a valid WIF`) });
});
