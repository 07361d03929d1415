// Goal: our Bitcoin signed messages are exactly Bitcoin Core's `signmessage`, so any wallet can
// check them and we can check any wallet's, on both verifier backends. Method: published vectors
// (the original BitWrk's, with high-S signatures and an uncompressed key, and Bitcoin Core's
// RFC 6979 regtest vector, reproduced byte for byte); a cross-check in both directions against an
// independent implementation (bitcoinjs-message, test-only) over random keys and messages,
// compressed and uncompressed, mainnet and testnet; fast-check that the noble and native
// backends give the same answer for random valid and tampered signatures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import bitcoinMessage from 'bitcoinjs-message';
import vectors from '../vectors/signmessage.json' with { type: 'json' };
import { messageDigest, signMessage, verifyMessage, parseSignature } from '../../src/crypto/signmessage.js';
import { createVerifier } from '../../src/crypto/verifier.js';
import { decodeWif, identityFromPrivateKey } from '../../src/crypto/keys.js';
import { parseAddress } from '../../src/crypto/address.js';
import { toHex } from '../../src/crypto/check.js';
import type { NetworkName } from '../../src/crypto/networks.js';

const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const backends = [createVerifier('noble'), createVerifier('native')];
const privateKeyArbitrary = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((bytes) => bytes.some((byte) => byte !== 0) && bytes[0]! < 0xff);
const networkArbitrary = fc.constantFrom<NetworkName>('mainnet', 'testnet', 'regtest');

function sValue(signatureBase64: string): bigint {
  return BigInt(`0x${toHex(parseSignature(signatureBase64)!.compact.subarray(32))}`);
}

test('the signmessage digest matches the published vector', () => {
  for (const vector of vectors.digests) assert.equal(toHex(messageDigest(vector.message)), vector.digestHex);
});

test('published signatures verify on every backend, and fail for another message or address', () => {
  for (const vector of vectors.signatures) {
    assert.equal(verifyMessage(vector.message, vector.address, vector.signature), true, vector.message);
    for (const verifier of backends) {
      assert.equal(verifier.verify(vector.message, vector.address, vector.signature), true, `${verifier.backend}: ${vector.message}`);
      assert.equal(verifier.verify(`${vector.message}-`, vector.address, vector.signature), false);
      assert.equal(verifier.verify(vector.message, '1JwSSubhmg6iPtRjtyqhUYYH7bZg3Lfy1T', vector.signature), false);
    }
  }
});

test('the vectors include high-S signatures, which verify (the original never normalised S)', () => {
  const highS = vectors.signatures.filter((vector) => sValue(vector.signature) > CURVE_ORDER / 2n);
  assert.ok(highS.length >= 1);
  for (const vector of highS) for (const verifier of backends) assert.ok(verifier.verify(vector.message, vector.address, vector.signature));
});

test('a low-S signature turned high-S (s -> n - s, recovery id flipped) still verifies', () => {
  fc.assert(
    fc.property(privateKeyArbitrary, fc.string({ maxLength: 40 }), fc.boolean(), (privateKey, message, compressed) => {
      const { address } = identityFromPrivateKey(privateKey, 'mainnet', compressed);
      const bytes = Buffer.from(signMessage(message, privateKey, { compressed }), 'base64');
      const s = sValue(bytes.toString('base64'));
      assert.ok(s <= CURVE_ORDER / 2n, 'we sign low-S');
      bytes.set(Buffer.from((CURVE_ORDER - s).toString(16).padStart(64, '0'), 'hex'), 33);
      bytes[0] = 27 + ((bytes[0]! - 27) ^ 1); // negating s negates the nonce point: the other y parity
      for (const verifier of backends) assert.equal(verifier.verify(message, address, bytes.toString('base64')), true, verifier.backend);
    }),
    { numRuns: 40 },
  );
});

test('WIF keys of the vectors give the published addresses, compressed and not', () => {
  for (const key of vectors.keys) {
    const identity = decodeWif(key.wif, key.network as NetworkName);
    assert.notEqual(typeof identity, 'string', key.wif);
    if (typeof identity === 'string') return;
    assert.equal(identity.compressed, key.compressed);
    assert.equal(identity.address, key.address);
  }
});

test('our signature of Bitcoin Core\'s vector is Core\'s, byte for byte (RFC 6979)', () => {
  for (const vector of vectors.deterministic) {
    const identity = decodeWif(vector.wif, vector.network as NetworkName);
    if (typeof identity === 'string') assert.fail(identity);
    assert.equal(signMessage(vector.message, identity.privateKey, { compressed: identity.compressed }), vector.signature);
  }
});

test('ours and bitcoinjs-message agree in both directions', () => {
  fc.assert(
    fc.property(privateKeyArbitrary, fc.string({ maxLength: 300 }), fc.boolean(), networkArbitrary, (privateKey, message, compressed, network) => {
      const identity = identityFromPrivateKey(privateKey, network, compressed);
      const ours = signMessage(message, privateKey, { compressed });
      assert.ok(bitcoinMessage.verify(message, identity.address, Buffer.from(ours, 'base64')), 'theirs rejects ours');
      const theirs = bitcoinMessage.sign(message, Buffer.from(privateKey), compressed).toString('base64');
      for (const verifier of backends) assert.ok(verifier.verify(message, identity.address, theirs), `${verifier.backend} rejects theirs`);
    }),
    { numRuns: 60 },
  );
});

test('header bytes 27-30 mean an uncompressed key and 31-34 a compressed one', () => {
  fc.assert(
    fc.property(privateKeyArbitrary, fc.boolean(), (privateKey, compressed) => {
      const identity = identityFromPrivateKey(privateKey, 'testnet', compressed);
      const signature = signMessage('m', privateKey, { compressed });
      const header = Buffer.from(signature, 'base64')[0]!;
      assert.ok(compressed ? header >= 31 && header <= 34 : header >= 27 && header <= 30, `header ${header}`);
      for (const verifier of backends) assert.equal(verifier.verify('m', identity.address, signature), true);
    }),
    { numRuns: 40 },
  );
});

test('both backends give the same answer for random valid and tampered signatures, never throwing', () => {
  fc.assert(
    fc.property(
      privateKeyArbitrary, fc.string({ maxLength: 80 }), fc.boolean(),
      fc.option(fc.tuple(fc.nat({ max: 64 }), fc.integer({ min: 1, max: 255 })), { nil: undefined }),
      (privateKey, message, compressed, tamper) => {
        const { address } = identityFromPrivateKey(privateKey, 'mainnet', compressed);
        const bytes = Buffer.from(signMessage(message, privateKey, { compressed }), 'base64');
        if (tamper !== undefined) bytes[tamper[0]] = bytes[tamper[0]]! ^ tamper[1];
        const text = bytes.toString('base64');
        const answers = backends.map((verifier) => verifier.verify(message, address, text));
        assert.equal(answers[0], answers[1]);
        // A signature is valid exactly when untouched: any change of r, s, recovery id or the
        // compression flag gives another key (or none), and a header outside 27..34 is refused.
        assert.equal(answers[0], tamper === undefined);
        const hash = parseAddress(address);
        if (!hash.ok) assert.fail(hash.detail);
        const digestAnswers = backends.map((verifier) => verifier.verifyDigest(messageDigest(message), hash.address.hash160, text));
        assert.deepEqual(digestAnswers, answers);
      },
    ),
    { numRuns: 300 },
  );
});

// Test errors by descending precedence: what is returned false, then what throws.
test('malformed signatures and addresses return false; misuse throws a TypeError or RangeError naming the argument', () => {
  const identity = identityFromPrivateKey(new Uint8Array(32).fill(9), 'mainnet');
  const good = signMessage('x', identity.privateKey);
  const bytes = Buffer.from(good, 'base64');
  for (const verifier of backends) {
    assert.equal(verifier.verify('x', identity.address, good.slice(0, -4)), false, 'short signature');
    assert.equal(verifier.verify('x', identity.address, bytes.subarray(0, 64).toString('base64')), false, '64 bytes');
    assert.equal(verifier.verify('x', identity.address, `${good}AAAA`), false, 'long signature');
    assert.equal(verifier.verify('x', identity.address, '!'.repeat(88)), false, 'not base64');
    assert.equal(verifier.verify('x', identity.address, bytes.toString('base64url')), false, 'base64url alphabet');
    assert.equal(verifier.verify('x', identity.address, ''), false, 'empty');
    assert.equal(verifier.verify('x', 'not-an-address', good), false, 'bad address');
    assert.equal(verifier.verify('x', identity.address, Buffer.from([26, ...bytes.subarray(1)]).toString('base64')), false, 'header 26');
    assert.equal(verifier.verify('x', identity.address, Buffer.from([35, ...bytes.subarray(1)]).toString('base64')), false, 'header 35');
    assert.equal(verifier.verify('x', identity.address, Buffer.from([bytes[0]!, ...new Uint8Array(64)]).toString('base64')), false, 'r = s = 0');
    assert.equal(verifier.verify('x', identity.address, Buffer.from([bytes[0]!, ...new Uint8Array(64).fill(0xff)]).toString('base64')), false, 'r, s >= n');
    assert.throws(() => verifier.verify('x', 42 as never, good), { name: 'TypeError', message: '"address" expected string, got number' });
    assert.throws(() => verifier.verify('x', identity.address, null as never), { name: 'TypeError', message: '"signature" expected string, got null' });
    assert.throws(() => verifier.verify(7 as never, identity.address, good), { name: 'TypeError', message: /"message" expected Uint8Array, got number/ });
    assert.throws(() => verifier.verifyDigest(new Uint8Array(31), new Uint8Array(20), good), { name: 'RangeError', message: '"digest" expected 32 bytes, got 31' });
    assert.throws(() => verifier.verifyDigest(new Uint8Array(32), new Uint8Array(21), good), { name: 'RangeError', message: '"addressHash160" expected 20 bytes, got 21' });
  }
  assert.throws(() => verifyMessage('x', identity.address, 5 as never), { name: 'TypeError', message: '"signature" expected string, got number' });
  assert.throws(() => signMessage('x', new Uint8Array(31)), { name: 'RangeError', message: '"privateKey" expected 32 bytes, got 31' });
});
