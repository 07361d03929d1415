// Goal: the worker-thread pool gives exactly the answers of the single-thread verifier, in order,
// for valid, tampered and malformed items alike, on either backend inside its workers; misuse and
// a closed pool reject. Method: a seeded mix of items through both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrng } from '../../src/random.js';
import { identityFromPrivateKey } from '../../src/crypto/keys.js';
import { signMessage } from '../../src/crypto/signmessage.js';
import { createVerifier } from '../../src/crypto/verifier.js';
import { VerifierPool, type VerifyItem } from '../../src/crypto/verify-pool.js';

function mixedItems(count: number, seed: number): VerifyItem[] {
  const prng = createPrng(seed);
  const signers = Array.from({ length: 5 }, (_, index) => identityFromPrivateKey(new Uint8Array(32).fill(index + 1), 'mainnet', index % 2 === 0));
  return Array.from({ length: count }, (_, index) => {
    const signer = signers[prng.nextInt(signers.length)]!;
    const message = `message ${index}`;
    const signature = signMessage(message, signer.privateKey, { compressed: signer.compressed });
    switch (prng.nextInt(5)) {
      case 0: return { message: `${message}!`, address: signer.address, signature }; // wrong message
      case 1: return { message, address: signers[(signers.indexOf(signer) + 1) % 5]!.address, signature }; // wrong address
      case 2: return { message, address: 'garbage', signature }; // malformed address
      case 3: return { message, address: signer.address, signature: signature.slice(1) }; // malformed signature
      default: return { message, address: signer.address, signature }; // valid
    }
  });
}

test('the pool answers exactly as the single verifier, in order, across batch boundaries', async () => {
  const items = mixedItems(1300, 11);
  const single = createVerifier();
  const expected = items.map((item) => single.verify(item.message, item.address, item.signature));
  assert.ok(expected.some(Boolean) && expected.some((answer) => !answer), 'the mix has both answers');
  const pool = new VerifierPool({ size: 2 });
  try {
    assert.equal(pool.backend, 'native');
    assert.deepEqual(await pool.verifyBatch(items), expected);
    const [first, second] = await Promise.all([pool.verifyBatch(items.slice(0, 10)), pool.verifyBatch(items.slice(10, 700))]);
    assert.deepEqual([...first, ...second], expected.slice(0, 700));
    assert.deepEqual(await pool.verifyBatch([]), []);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.verifyBatch(items.slice(0, 1)), /closed/);
});

test('single verifications made in one turn are batched and answered individually', async () => {
  const items = mixedItems(300, 12);
  const single = createVerifier();
  const pool = new VerifierPool({ size: 2 });
  try {
    const answers = await Promise.all(items.map((item) => pool.verify(item)));
    assert.deepEqual(answers, items.map((item) => single.verify(item.message, item.address, item.signature)));
  } finally {
    await pool.close();
  }
});

test('a pool on the reference backend (no native binding) answers the same', async () => {
  const items = mixedItems(60, 13);
  const reference = createVerifier('noble');
  const pool = new VerifierPool({ size: 2, backend: 'noble' });
  try {
    assert.equal(pool.backend, 'noble');
    assert.deepEqual(await pool.verifyBatch(items), items.map((item) => reference.verify(item.message, item.address, item.signature)));
  } finally {
    await pool.close();
  }
});

test('misuse rejects with a TypeError; closing rejects the batches still in flight', async () => {
  const items = mixedItems(2000, 14);
  const pool = new VerifierPool({ size: 1 });
  await assert.rejects(pool.verifyBatch([{ message: 'm', address: 5 as never, signature: '' }]), { name: 'TypeError', message: /"address" expected string/ });
  const inFlight = assert.rejects(pool.verifyBatch(items), /closed/);
  await pool.close();
  await inFlight;
  await assert.rejects(pool.verify(items[0]!), /closed/);
});
