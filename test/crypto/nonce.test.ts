// Goal: a nonce is accepted at most once per address, never when it is outside the time window,
// survives a snapshot (export/import), and the registry's memory is exactly one window of
// traffic. Method: model-based fast-check against a plain set, on a virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock.js';
import { createPrng } from '../../src/random.js';
import { createNonce, NonceRegistry } from '../../src/crypto/nonce.js';

const TTL_MS = 180_000;
const START_MS = 1_764_000_000_000;

type Step = { kind: 'use'; address: number; age: number; pick: number } | { kind: 'wait'; ms: number } | { kind: 'snapshot' };
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('use' as const), address: fc.nat(2), age: fc.integer({ min: -200_000, max: 200_000 }), pick: fc.nat(9) }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.nat(120_000) }),
  fc.record({ kind: fc.constant('snapshot' as const) }),
);

test('a nonce is accepted at most once, never outside the window, and remembered only within it', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
      const clock = new VirtualClock(START_MS);
      let registry = new NonceRegistry(clock, TTL_MS);
      const accepted = new Set<string>();
      const issued: string[] = [];
      for (const current of steps) {
        if (current.kind === 'wait') {
          clock.advanceBy(current.ms);
          continue;
        }
        if (current.kind === 'snapshot') {
          registry = NonceRegistry.import(structuredClone(registry.export()), clock, TTL_MS);
          continue;
        }
        // Reuse an earlier nonce half of the time, to exercise replays.
        const reuse = current.pick < 5 && issued.length > 0;
        const nonce = reuse ? issued[current.pick % issued.length]! : `${clock.now() + current.age}-${current.pick.toString(16).padStart(32, '0')}`;
        issued.push(nonce);
        const address = `addr${current.address}`;
        const verdict = registry.check(address, nonce);
        const timeMs = Number(nonce.split('-')[0]);
        if (Math.abs(clock.now() - timeMs) > TTL_MS) assert.equal(verdict, 'nonce_expired');
        else if (accepted.has(`${address} ${nonce}`)) assert.equal(verdict, 'nonce_reused');
        else assert.equal(verdict, 'ok');
        if (verdict === 'ok') {
          registry.commit(address, nonce);
          accepted.add(`${address} ${nonce}`);
        }
        if (verdict !== 'nonce_expired') {
          // check pruned: exactly the accepted nonces still inside the window are remembered.
          const live = [...accepted].filter((key) => Number(key.split(' ')[1]!.split('-')[0]) + TTL_MS >= clock.now());
          assert.equal(registry.size, live.length);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('malformed nonces are nonce_invalid; check alone does not burn a nonce', () => {
  const clock = new VirtualClock(START_MS);
  const registry = new NonceRegistry(clock);
  for (const bad of ['', 'abc', `${START_MS}`, `${START_MS}-xyz`, `${START_MS}-${'A'.repeat(32)}`, `0${START_MS}-${'a'.repeat(32)}`]) {
    assert.equal(registry.check('a', bad), 'nonce_invalid', bad);
  }
  const nonce = createNonce(clock, createPrng(1).nextBytes);
  assert.equal(registry.check('a', nonce), 'ok');
  assert.equal(registry.check('a', nonce), 'ok');
  registry.commit('a', nonce);
  assert.equal(registry.check('a', nonce), 'nonce_reused');
  assert.equal(registry.check('b', nonce), 'ok', 'nonces are per address');
});

test('memory is bounded by one window, and export/import keeps the used set', () => {
  const clock = new VirtualClock(START_MS);
  const registry = new NonceRegistry(clock, TTL_MS);
  const prng = createPrng(2);
  for (let second = 0; second < 1000; second++) {
    for (let i = 0; i < 10; i++) {
      const nonce = createNonce(clock, prng.nextBytes);
      assert.equal(registry.check('a', nonce), 'ok');
      registry.commit('a', nonce);
    }
    clock.advanceBy(1000);
  }
  registry.check('a', createNonce(clock, prng.nextBytes)); // triggers pruning
  assert.equal(registry.size, 10 * (TTL_MS / 1000), 'one window of traffic (the last 180 s), no more');
  const last = createNonce(clock, prng.nextBytes);
  registry.commit('a', last);
  const restored = NonceRegistry.import(structuredClone(registry.export()), clock, TTL_MS);
  assert.equal(restored.check('a', last), 'nonce_reused');
  assert.equal(restored.size, registry.size);
});
