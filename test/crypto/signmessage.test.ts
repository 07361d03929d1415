// Goal: our Bitcoin signed messages are exactly Bitcoin Core's `signmessage`, so any wallet can
// check them and we can check any wallet's. Method: published vectors from the original BitWrk
// (including a high-S signature), and a cross-check in both directions against an independent
// implementation (bitcoinjs-message, a test-only dependency) over random keys and messages,
// compressed and uncompressed, mainnet and testnet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import bitcoinMessage from 'bitcoinjs-message';
import vectors from '../vectors/signmessage.json' with { type: 'json' };
import { messageDigest, signMessage, verifyMessage, parseSignature } from '../../src/crypto/signmessage.js';
import { createVerifier } from '../../src/crypto/verifier.js';
import { decodeWif, identityFromPrivateKey } from '../../src/crypto/keys.js';
import { toHex } from '../../src/crypto/check.js';

const CURVE_ORDER_HALF = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n / 2n;
const backends = [createVerifier('noble'), createVerifier('native')];

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

test('the vectors include a high-S signature, which verifies (the original never normalised S)', () => {
  const highS = vectors.signatures.filter((vector) => {
    const s = parseSignature(vector.signature)!.compact.subarray(32);
    return BigInt(`0x${toHex(s)}`) > CURVE_ORDER_HALF;
  });
  assert.ok(highS.length >= 1);
  for (const vector of highS) for (const verifier of backends) assert.ok(verifier.verify(vector.message, vector.address, vector.signature));
});

test('WIF keys of the vectors give the published addresses, compressed and not', () => {
  for (const key of vectors.keys) {
    const identity = decodeWif(key.wif, 'mainnet');
    assert.notEqual(typeof identity, 'string');
    if (typeof identity === 'string') return;
    assert.equal(identity.compressed, key.compressed);
    assert.equal(identity.address, key.address);
  }
});

const privateKeyArbitrary = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((bytes) => bytes.some((byte) => byte !== 0) && bytes[0]! < 0xff);

test('ours and bitcoinjs-message agree in both directions', () => {
  fc.assert(
    fc.property(privateKeyArbitrary, fc.string({ maxLength: 300 }), fc.boolean(), fc.constantFrom('mainnet' as const, 'testnet' as const), (privateKey, message, compressed, network) => {
      const identity = identityFromPrivateKey(privateKey, network, compressed);
      const ours = signMessage(message, privateKey, { compressed });
      assert.ok(bitcoinMessage.verify(message, identity.address, Buffer.from(ours, 'base64')), 'theirs rejects ours');
      const theirs = bitcoinMessage.sign(message, Buffer.from(privateKey), compressed).toString('base64');
      for (const verifier of backends) assert.ok(verifier.verify(message, identity.address, theirs), `${verifier.backend} rejects theirs`);
    }),
    { numRuns: 60 },
  );
});

test('tampered signatures are rejected the same way by both backends, never with an exception', () => {
  const identity = identityFromPrivateKey(new Uint8Array(32).fill(7), 'mainnet');
  const signature = Buffer.from(signMessage('bid', identity.privateKey), 'base64');
  fc.assert(
    fc.property(fc.nat({ max: 64 }), fc.integer({ min: 1, max: 255 }), (position, flip) => {
      const tampered = Buffer.from(signature);
      tampered[position] = tampered[position]! ^ flip;
      const text = tampered.toString('base64');
      const answers = backends.map((verifier) => verifier.verify('bid', identity.address, text));
      assert.equal(answers[0], answers[1]);
      // Flipping the compression flag alone (27..30 <-> 31..34) changes the address: never valid.
      assert.equal(answers[0], false);
    }),
    { numRuns: 300 },
  );
});

// Test errors by descending precedence: what is returned false, then what throws.
test('malformed signatures and addresses return false; misuse throws a named TypeError', () => {
  const identity = identityFromPrivateKey(new Uint8Array(32).fill(9), 'mainnet');
  const good = signMessage('x', identity.privateKey);
  for (const verifier of backends) {
    assert.equal(verifier.verify('x', identity.address, good.slice(0, -4)), false, 'short signature');
    assert.equal(verifier.verify('x', identity.address, `${good}AAAA`), false, 'long signature');
    assert.equal(verifier.verify('x', identity.address, '!'.repeat(88)), false, 'not base64');
    assert.equal(verifier.verify('x', 'not-an-address', good), false, 'bad address');
    assert.equal(verifier.verify('x', identity.address, Buffer.from([26, ...new Uint8Array(64).fill(1)]).toString('base64')), false, 'header 26');
    assert.throws(() => verifier.verify('x', 42 as never, good), { name: 'TypeError', message: /"address" expected string/ });
  }
  assert.throws(() => signMessage('x', new Uint8Array(31)), { name: 'RangeError', message: /"privateKey" expected Uint8Array of length 32, got length=31/ });
});
