// Replay protection without a round trip. A client makes its own nonce:
//   <milliseconds since the epoch>-<32 lowercase hex characters of randomness>
// The server accepts a nonce once per address, only while its time is within NONCE_TTL_MS of the
// server's clock (either way). It remembers used nonces until they expire, pruned soonest-expiry
// first, so memory is bounded by the accepted traffic of one window (nonce times within TTL of
// now), and a replay after that is refused as expired.
//
// `check` does not record: the server calls `commit` only once the command is accepted, so a
// command rejected for another reason (say, insufficient funds) does not burn its nonce, and the
// same signed command can be sent again after the cause is fixed. The nonce registry is part of
// the journalled state: replaying the journal rebuilds it.
import { assert } from '../assert.js';
import type { Clock } from '../clock.js';
import { IndexedHeap } from '../heap.js';
import { NONCE_BYTES, NONCE_TTL_MS } from '../limits.js';

export type NonceRejection = 'nonce_invalid' | 'nonce_expired' | 'nonce_reused';

/** 13 digits of milliseconds cover 2001-09-09 to 2286-11-20. */
const NONCE_PATTERN = /^(\d{13})-[0-9a-f]{32}$/;

/**
 * A fresh client nonce. `randomBytes` is crypto randomness in production (node:crypto's
 * randomBytes) or a seeded Prng's nextBytes in tests and simulations.
 */
export function createNonce(clock: Clock, randomBytes: (count: number) => Uint8Array): string {
  const random = randomBytes(NONCE_BYTES);
  assert(random.length === NONCE_BYTES, `nonce randomness must be ${NONCE_BYTES} bytes`);
  const nonce = `${clock.now()}-${Buffer.from(random.buffer, random.byteOffset, random.byteLength).toString('hex')}`;
  assert(NONCE_PATTERN.test(nonce), `the clock gives a time the nonce format cannot carry: ${clock.now()}`);
  return nonce;
}

/** The time a nonce claims, or undefined if it is malformed. */
export function nonceTimeMs(nonce: string): number | undefined {
  const match = typeof nonce === 'string' ? NONCE_PATTERN.exec(nonce) : null;
  return match === null ? undefined : Number(match[1]);
}

export interface NonceRegistryState {
  /** [address, nonce, expiresAtMs] of every remembered nonce, soonest expiry first. */
  readonly entries: Array<[string, string, number]>;
}

interface ExpiryEntry {
  readonly key: string;
  readonly expiresAtMs: number;
  heapIndex: number;
}

export class NonceRegistry {
  private readonly used = new Map<string, number>(); // `${address} ${nonce}` -> expiresAtMs
  private readonly expiry = new IndexedHeap<ExpiryEntry>((a, b) => a.expiresAtMs < b.expiresAtMs);

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number = NONCE_TTL_MS,
  ) {}

  /** Nonces remembered now (those of the last TTL window, once pruned). */
  get size(): number {
    return this.used.size;
  }

  /** Tests errors by descending precedence: malformed, expired, reused. Records nothing. */
  check(address: string, nonce: string): NonceRejection | 'ok' {
    const timeMs = nonceTimeMs(nonce);
    if (timeMs === undefined) return 'nonce_invalid';
    const nowMs = this.clock.now();
    if (Math.abs(nowMs - timeMs) > this.ttlMs) return 'nonce_expired';
    this.prune(nowMs);
    return this.used.has(`${address} ${nonce}`) ? 'nonce_reused' : 'ok';
  }

  /** Records the nonce of an accepted command. It must have passed `check` just before. */
  commit(address: string, nonce: string): void {
    const timeMs = nonceTimeMs(nonce);
    assert(timeMs !== undefined, 'commit of a malformed nonce');
    const key = `${address} ${nonce}`;
    assert(!this.used.has(key), 'commit of a used nonce');
    // Remembered exactly as long as `check` would not refuse it as expired anyway.
    this.remember(key, timeMs + this.ttlMs + 1);
  }

  export(): NonceRegistryState {
    this.prune(this.clock.now());
    const entries = [...this.used].map(([key, expiresAtMs]): [string, string, number] => [...splitKey(key), expiresAtMs]);
    return { entries: entries.sort((a, b) => a[2] - b[2]) };
  }

  static import(state: NonceRegistryState, clock: Clock, ttlMs: number = NONCE_TTL_MS): NonceRegistry {
    const registry = new NonceRegistry(clock, ttlMs);
    for (const [address, nonce, expiresAtMs] of state.entries) registry.remember(`${address} ${nonce}`, expiresAtMs);
    return registry;
  }

  private remember(key: string, expiresAtMs: number): void {
    this.used.set(key, expiresAtMs);
    this.expiry.push({ key, expiresAtMs, heapIndex: -1 });
  }

  /** Forgets nonces whose window has passed, soonest expiry first, stopping at the first live one. */
  private prune(nowMs: number): void {
    for (let next = this.expiry.peek(); next !== undefined && next.expiresAtMs <= nowMs; next = this.expiry.peek()) {
      this.expiry.pop();
      if (this.used.get(next.key) === next.expiresAtMs) this.used.delete(next.key);
    }
  }
}

function splitKey(key: string): [string, string] {
  const space = key.indexOf(' ');
  return [key.slice(0, space), key.slice(space + 1)];
}
