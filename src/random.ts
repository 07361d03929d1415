// Seeded randomness (ARCHITECTURE.md, principle 2). Core code takes a Prng; only hosts use
// crypto randomness. sfc32 is small, fast and passes PractRand for our purposes.
import { assert } from './assert.js';

export interface Prng {
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number;
  /** Uniform float in [0, 1). */
  nextFloat(): number;
  /** Uniform integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number;
  /** `count` pseudo-random bytes. */
  nextBytes(count: number): Uint8Array;
  /** An independent generator derived from this one (for sub-components). */
  fork(): Prng;
}

export function createPrng(seed: number): Prng {
  assert(Number.isSafeInteger(seed), `"seed" expected a safe integer, got ${seed}`);
  // Spread the seed over the four words with splitmix32, as sfc32's authors suggest.
  let s = (seed ^ Math.floor(seed / 0x1_0000_0000)) >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return sfc32(splitmix(), splitmix(), splitmix(), splitmix());
}

function sfc32(a: number, b: number, c: number, d: number): Prng {
  const nextU32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) nextU32();
  const prng: Prng = {
    nextU32,
    nextFloat: () => nextU32() / 0x1_0000_0000,
    nextInt(maxExclusive: number): number {
      assert(Number.isSafeInteger(maxExclusive) && maxExclusive > 0, 'nextInt needs a positive bound');
      if (maxExclusive <= 0x1_0000_0000) return Math.floor((nextU32() / 0x1_0000_0000) * maxExclusive);
      const high = nextU32() * 0x1_0000_0000 + nextU32();
      return high % maxExclusive;
    },
    nextBytes(count: number): Uint8Array {
      const bytes = new Uint8Array(count);
      for (let i = 0; i < count; i += 4) {
        const word = nextU32();
        for (let j = 0; j < 4 && i + j < count; j++) bytes[i + j] = (word >>> (8 * j)) & 0xff;
      }
      return bytes;
    },
    fork: () => sfc32(nextU32(), nextU32(), nextU32(), nextU32()),
  };
  return prng;
}
