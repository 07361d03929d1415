// Replay protection without a round trip. A client makes its own nonce:
//   <milliseconds since the epoch>-<32 lowercase hex characters of randomness>
// The server accepts a nonce once per address, only while its time is within NONCE_TTL_MS of the
// server's clock (either way). It remembers used nonces until they expire, so memory is bounded
// by the traffic of one TTL window, and a replay after that is refused as expired.
//
// `check` does not record: the server calls `commit` only once the command is accepted, so a
// command rejected for another reason (say, insufficient funds) does not burn its nonce, and the
// same signed command can be sent again after the cause is fixed. The nonce registry is part of
// the journalled state: replaying the journal rebuilds it.
import { assert } from '../assert.js';
import type { Clock } from '../clock.js';
import { NONCE_TTL_MS } from '../limits.js';

export type NonceRejection = 'nonce_invalid' | 'nonce_expired' | 'nonce_reused';

const NONCE_PATTERN = /^(\d{13})-[0-9a-f]{32}$/;

export function createNonce(clock: Clock, randomBytes: (count: number) => Uint8Array): string {
  const random = randomBytes(16);
  assert(random.length === 16, 'nonce randomness must be 16 bytes');
  return `${clock.now()}-${Buffer.from(random).toString('hex')}`;
}

/** The time a nonce claims, or undefined if it is malformed. */
export function nonceTimeMs(nonce: string): number | undefined {
  const match = typeof nonce === 'string' ? NONCE_PATTERN.exec(nonce) : null;
  return match === null ? undefined : Number(match[1]);
}

export interface NonceRegistryState {
  /** [address, nonce, expiresAtMs], oldest first. */
  readonly entries: Array<[string, string, number]>;
}

export class NonceRegistry {
  private readonly used = new Map<string, number>(); // `${address} ${nonce}` -> expiresAtMs
  private readonly expiry: Array<[string, number]> = []; // FIFO of keys by expiry
  private expiryHead = 0;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number = NONCE_TTL_MS,
  ) {}

  get size(): number {
    return this.used.size;
  }

  /** Test errors by descending precedence: malformed, expired, reused. Records nothing. */
  check(address: string, nonce: string): NonceRejection | 'ok' {
    const timeMs = nonceTimeMs(nonce);
    if (timeMs === undefined) return 'nonce_invalid';
    const nowMs = this.clock.now();
    if (Math.abs(nowMs - timeMs) > this.ttlMs) return 'nonce_expired';
    this.prune(nowMs);
    return this.used.has(`${address} ${nonce}`) ? 'nonce_reused' : 'ok';
  }

  /** Records a nonce of an accepted command. It must have passed `check` just before. */
  commit(address: string, nonce: string): void {
    const timeMs = nonceTimeMs(nonce);
    assert(timeMs !== undefined, 'commit of a malformed nonce');
    const key = `${address} ${nonce}`;
    assert(!this.used.has(key), 'commit of a used nonce');
    // It must be remembered until it would be refused as expired anyway.
    const expiresAtMs = Math.max(timeMs + this.ttlMs, this.clock.now()) + 1;
    this.used.set(key, expiresAtMs);
    this.expiry.push([key, expiresAtMs]);
  }

  export(): NonceRegistryState {
    this.prune(this.clock.now());
    return { entries: [...this.used].map(([key, expiresAtMs]) => [...splitKey(key), expiresAtMs]) };
  }

  static import(state: NonceRegistryState, clock: Clock, ttlMs: number = NONCE_TTL_MS): NonceRegistry {
    const registry = new NonceRegistry(clock, ttlMs);
    for (const [address, nonce, expiresAtMs] of state.entries) {
      const key = `${address} ${nonce}`;
      registry.used.set(key, expiresAtMs);
      registry.expiry.push([key, expiresAtMs]);
    }
    registry.expiry.sort((a, b) => a[1] - b[1]);
    return registry;
  }

  /**
   * Forgets nonces whose time window has passed. It walks in commit order and stops at the first
   * live entry: an entry is never forgotten early, and at most 2 x TTL late.
   */
  private prune(nowMs: number): void {
    while (this.expiryHead < this.expiry.length) {
      const [key, expiresAtMs] = this.expiry[this.expiryHead]!;
      if (expiresAtMs > nowMs) break;
      if (this.used.get(key) === expiresAtMs) this.used.delete(key);
      this.expiryHead += 1;
    }
    if (this.expiryHead > 1024 && this.expiryHead * 2 > this.expiry.length) {
      this.expiry.splice(0, this.expiryHead);
      this.expiryHead = 0;
    }
  }
}

function splitKey(key: string): [string, string] {
  const space = key.indexOf(' ');
  return [key.slice(0, space), key.slice(space + 1)];
}
