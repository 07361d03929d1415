// A token bucket on the injected clock: `perSecond` tokens refill continuously up to `burst`.
import { assert } from '../assert.js';
import type { Clock } from '../clock.js';

export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
  ) {
    assert(limit.perSecond > 0, 'rate limit needs a positive rate');
    assert(limit.burst >= 1, 'rate limit needs a burst of at least one');
    this.tokens = limit.burst;
    this.updatedMs = clock.now();
  }

  /** Takes one token; false when none is left. */
  take(): boolean {
    const nowMs = this.clock.now();
    const elapsedMs = Math.max(0, nowMs - this.updatedMs);
    this.updatedMs = nowMs;
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsedMs * this.limit.perSecond) / 1000);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
