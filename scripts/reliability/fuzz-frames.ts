// The fuzzer's frames: mutations of valid signed frames whose commands were already accepted (so
// a copy that still verifies is refused as nonce_reused and cannot change state), random bytes,
// MessagePack that breaks the subset's rules (huge declared lengths, deep nesting, non-string or
// __proto__ keys, extension types, 0xc1), text frames, frames around the 1 MiB limit, and valid
// envelopes with wrong bodies, unknown types, other versions, odd ids and ids reused while
// pending. Every choice comes from the scenario's seeded PRNG.
import type { Prng } from '../../src/random.js';
import { encode } from '../../src/transport/codec.js';
import { requestFrame } from './envelope.js';
import { FRAME_BYTES_MAX } from './spec-oracle.js';

export interface FuzzFrame {
  readonly data: Uint8Array | string;
  readonly binary: boolean;
  readonly category: string;
  /** Sent right after the previous frame with the same request id (an id reused while pending). */
  readonly reusesId?: boolean;
}

/** A request the exchange accepted once (or a valid query): its type and exact body. */
export interface BaseRequest {
  readonly type: string;
  readonly body: Uint8Array;
}

const REQUEST_TYPES = ['info', 'placeBid', 'withdrawBid', 'txMessage', 'credit', 'defineArticle', 'account', 'bid', 'transaction', 'participant', 'depth', 'subscribe', 'unsubscribe'];

type Maker = (fuzzer: FrameFuzzer) => FuzzFrame | FuzzFrame[];

/** [weight, category, maker]: the mix of one million frames. */
const MAKERS: ReadonlyArray<readonly [number, string, Maker]> = [
  [8, 'replay', (f) => f.frame('replay', f.frameOf(f.signedRequest()))],
  [12, 'body-mutation', (f) => f.frame('body-mutation', f.mutateBody(f.signedRequest()))],
  [6, 'bit-flip', (f) => f.frame('bit-flip', f.flipBits(f.baseFrame()))],
  [6, 'byte-change', (f) => f.frame('byte-change', f.changeBytes(f.baseFrame()))],
  [4, 'truncation', (f) => f.frame('truncation', f.truncate(f.baseFrame()))],
  [3, 'splice', (f) => f.frame('splice', f.splice(f.baseFrame(), f.baseFrame()))],
  [2, 'duplication', (f) => f.frame('duplication', f.duplicate(f.baseFrame()))],
  [3, 'random-bytes', (f) => f.frame('random-bytes', f.prng.nextBytes(1 + f.prng.nextInt(512)))],
  [2, 'huge-length', (f) => f.frame('huge-length', f.hugeLength())],
  [2, 'deep-nesting', (f) => f.frame('deep-nesting', f.deepNesting())],
  [2, 'bad-keys', (f) => f.frame('bad-keys', f.badKeys())],
  [2, 'ext-or-c1', (f) => f.frame('ext-or-c1', f.extOrC1())],
  [1, 'text-frame', (f) => ({ data: f.text(), binary: false, category: 'text-frame' })],
  [0.05, 'under-1MiB', (f) => f.frame('under-1MiB', f.nearLimit(FRAME_BYTES_MAX - f.prng.nextInt(64)))],
  [0.05, 'over-1MiB', (f) => f.frame('over-1MiB', f.nearLimit(FRAME_BYTES_MAX + 1 + f.prng.nextInt(64)))],
  [0.3, 'size-limits', (f) => f.frame('size-limits', f.sizeLimits())],
  [10, 'wrong-body', (f) => f.frame('wrong-body', requestFrame(f.takeId(), f.pick(REQUEST_TYPES), encode(f.randomValue(3))))],
  [6, 'unknown-type', (f) => f.frame('unknown-type', requestFrame(f.takeId(), f.randomType(), encode(f.randomValue(2))))],
  [1, 'version', (f) => f.frame('version', f.otherVersion())],
  [2, 'odd-id', (f) => f.frame('odd-id', f.oddId())],
  [3, 'id-reused', (f) => f.reusedId()],
  [2, 'client-envelope', (f) => f.frame('client-envelope', f.clientEnvelope())],
  [4, 'query', (f) => f.frame('query', f.frameOf(f.pick(f.queries)))],
];
const TOTAL_WEIGHT = MAKERS.reduce((sum, [weight]) => sum + weight, 0);

export class FrameFuzzer {
  private nextId = 1_000_000;

  constructor(
    readonly prng: Prng,
    /** Signed commands the exchange already accepted. */
    readonly signed: readonly BaseRequest[],
    /** Valid queries. */
    readonly queries: readonly BaseRequest[],
  ) {}

  /** The next frame (or an id-reuse pair) of the mix. */
  next(): FuzzFrame[] {
    let draw = this.prng.nextFloat() * TOTAL_WEIGHT;
    for (const [weight, , make] of MAKERS) {
      draw -= weight;
      if (draw < 0) return [make(this)].flat();
    }
    return [MAKERS[0]![2](this)].flat();
  }

  takeId(): number {
    return this.nextId++;
  }

  frame(category: string, data: Uint8Array): FuzzFrame {
    return { data, binary: true, category };
  }

  pick<T>(items: readonly T[]): T {
    return items[this.prng.nextInt(items.length)]!;
  }

  signedRequest(): BaseRequest {
    return this.pick(this.signed);
  }

  frameOf(request: BaseRequest): Uint8Array {
    return requestFrame(this.takeId(), request.type, request.body);
  }

  /** A valid frame to mutate: mostly accepted signed commands, sometimes a query. */
  baseFrame(): Uint8Array {
    return this.frameOf(this.prng.nextInt(4) === 0 ? this.pick(this.queries) : this.signedRequest());
  }

  /** The request with 1-3 bytes of its body changed (the envelope stays intact). */
  mutateBody(request: BaseRequest): Uint8Array {
    const body = this.prng.nextInt(2) === 0 ? this.flipBits(request.body) : this.changeBytes(request.body);
    return requestFrame(this.takeId(), request.type, body);
  }

  flipBits(bytes: Uint8Array): Uint8Array {
    const copy = new Uint8Array(bytes);
    for (let flips = 1 + this.prng.nextInt(3); flips > 0; flips--) copy[this.prng.nextInt(copy.length)]! ^= 1 << this.prng.nextInt(8);
    return copy;
  }

  changeBytes(bytes: Uint8Array): Uint8Array {
    const copy = new Uint8Array(bytes);
    for (let changes = 1 + this.prng.nextInt(3); changes > 0; changes--) copy[this.prng.nextInt(copy.length)] = this.prng.nextInt(256);
    return copy;
  }

  truncate(bytes: Uint8Array): Uint8Array {
    return bytes.slice(0, this.prng.nextInt(bytes.length));
  }

  splice(first: Uint8Array, second: Uint8Array): Uint8Array {
    const cut = this.prng.nextInt(first.length);
    const from = this.prng.nextInt(second.length);
    return concat(first.subarray(0, cut), second.subarray(from));
  }

  duplicate(bytes: Uint8Array): Uint8Array {
    if (this.prng.nextInt(2) === 0) return concat(bytes, bytes);
    const start = this.prng.nextInt(bytes.length);
    const end = start + 1 + this.prng.nextInt(bytes.length - start);
    return concat(bytes.subarray(0, end), bytes.subarray(start));
  }

  /** str32/bin32/array32/map32 (or 16-bit forms) announcing far more than the frame holds. */
  hugeLength(): Uint8Array {
    const head = this.pick([0xdb, 0xc6, 0xdd, 0xdf, 0xda, 0xc5, 0xdc, 0xde]);
    const wide = head === 0xdb || head === 0xc6 || head === 0xdd || head === 0xdf;
    const count = wide ? this.pick([0xffffffff, 0x80000000, 0x7fffffff, 0x40000000, 4097, 65537]) : this.pick([0xffff, 0x8000, 4097]);
    const header = wide ? [head, count >>> 24, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff] : [head, count >>> 8, count & 0xff];
    const value = concat(Uint8Array.from(header), this.prng.nextBytes(this.prng.nextInt(32)));
    // Alone, or as the body of an otherwise valid request.
    return this.prng.nextInt(2) === 0 ? value : requestFrame(this.takeId(), this.pick(REQUEST_TYPES), value);
  }

  /** Arrays or maps nested beyond 16 levels (sometimes hugely), or exactly at the limit. */
  deepNesting(): Uint8Array {
    const atLimit = this.prng.nextInt(4) === 0;
    // The envelope is one level, so a body of 15 nested containers is 16 in all.
    const depth = atLimit ? 15 : 16 + this.pick([1, 2, 10, 1000, 100_000]);
    const useMaps = this.prng.nextInt(2) === 0;
    const bytes = new Uint8Array(useMaps ? depth * 3 + 1 : depth + 1);
    let offset = 0;
    for (let level = 0; level < depth; level++) {
      if (useMaps) bytes.set([0x81, 0xa1, 0x61], offset);
      else bytes[offset] = 0x91;
      offset += useMaps ? 3 : 1;
    }
    bytes[offset] = 0xc0;
    return requestFrame(this.takeId(), this.pick(REQUEST_TYPES), bytes);
  }

  /** Maps with integer, nil, binary or array keys, or the key __proto__, in the body or the envelope. */
  badKeys(): Uint8Array {
    const key = this.pick([[0x01], [0xc0], [0xc4, 0x01, 0x61], [0x90], [0xa9, ...Buffer.from('__proto__')], [0xd9, 0x09, ...Buffer.from('__proto__')]]);
    const map = Uint8Array.from([0x81, ...key, 0x01]);
    if (this.prng.nextInt(3) === 0) {
      // The key inside the envelope map itself.
      const frame = this.frameOf(this.pick(this.queries));
      return concat(Uint8Array.of(0x86), Uint8Array.from(key), Uint8Array.of(0x01), frame.subarray(1));
    }
    return requestFrame(this.takeId(), this.pick(REQUEST_TYPES), map);
  }

  /** Extension types (fixext, ext8/16/32, the timestamp) or the byte 0xc1, in the body. */
  extOrC1(): Uint8Array {
    const value = this.pick([
      [0xc1],
      [0xd4, 0x01, 0x00],
      [0xd6, 0xff, 0x00, 0x00, 0x00, 0x01],
      [0xd7, 0xff, 0, 0, 0, 0, 0, 0, 0, 1],
      [0xc7, 0x02, 0x05, 0x00, 0x00],
      [0xc8, 0x00, 0x01, 0x05, 0x00],
      [0xc9, 0xff, 0xff, 0xff, 0xff, 0x05],
      [0x81, 0xa1, 0x61, 0xc1],
    ]);
    return requestFrame(this.takeId(), this.pick(REQUEST_TYPES), Uint8Array.from(value));
  }

  text(): string {
    return this.pick(['{"v":1,"kind":"request","id":1,"type":"info","body":{}}', 'hello', '', 'x'.repeat(1 + this.prng.nextInt(2000))]);
  }

  /** A request of an unknown type whose bin body brings the frame to exactly `total` bytes. */
  nearLimit(total: number): Uint8Array {
    const header = requestFrame(this.takeId(), 'fuzz.big', new Uint8Array(0));
    const binLength = total - header.length - 5;
    const bin = new Uint8Array(5 + binLength);
    bin.set([0xc6, binLength >>> 24, (binLength >>> 16) & 0xff, (binLength >>> 8) & 0xff, binLength & 0xff], 0);
    return concat(header, bin);
  }

  /** Strings of 65,536 and 65,537 bytes, arrays of 4,096 and 4,097 entries. */
  sizeLimits(): Uint8Array {
    const choice = this.prng.nextInt(4);
    if (choice < 2) {
      const length = 65_536 + choice;
      const value = new Uint8Array(5 + length).fill(0x61);
      value.set([0xdb, 0, length >>> 16, (length >>> 8) & 0xff, length & 0xff], 0);
      return requestFrame(this.takeId(), 'fuzz.string', value);
    }
    const count = 4096 + (choice - 2);
    const value = new Uint8Array(3 + count).fill(0xc0);
    value.set([0xdc, count >>> 8, count & 0xff], 0);
    return requestFrame(this.takeId(), 'fuzz.array', value);
  }

  randomType(): string {
    const length = 1 + this.prng.nextInt(this.prng.nextInt(8) === 0 ? 80 : 20);
    return Buffer.from(this.prng.nextBytes(length)).toString('latin1').replace(/[^\x21-\x7e]/g, 'a');
  }

  /** An envelope of another version, or without one. */
  otherVersion(): Uint8Array {
    const envelope: Record<string, unknown> = { kind: 'request', id: this.takeId(), type: 'info', body: {} };
    const version = this.pick<unknown>([2, 0, -1, 255, '1', null, 1.5, undefined]);
    return encode(version === undefined ? envelope : { v: version, ...envelope });
  }

  /** Ids at and beyond 2^53 - 1, negative, fractional, or not numbers. */
  oddId(): Uint8Array {
    const id = this.pick<number | Uint8Array>([
      Number.MAX_SAFE_INTEGER,
      0,
      Uint8Array.of(0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 0), // 2^53 as uint64
      Uint8Array.of(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
      Uint8Array.of(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // -1 as int64
      Uint8Array.of(0xff), // -1
      Uint8Array.of(0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), // 1.5
      Uint8Array.of(0xa1, 0x31), // "1"
      Uint8Array.of(0xc0), // nil
    ]);
    return requestFrame(id, 'info', encode({}));
  }

  /** Two copies of an accepted signed command under one id, back to back (the second while the first is pending). */
  reusedId(): FuzzFrame[] {
    const request = this.signedRequest();
    const frame = this.frameOf(request);
    return [
      { data: frame, binary: true, category: 'id-reused' },
      { data: frame, binary: true, category: 'id-reused', reusesId: true },
    ];
  }

  /** Responses, errors and pushes sent by a client (the server expects none of them). */
  clientEnvelope(): Uint8Array {
    return encode(this.pick<Record<string, unknown>>([
      { v: 1, kind: 'response', id: this.takeId(), body: this.randomValue(2) },
      { v: 1, kind: 'response', id: 1, body: null },
      { v: 1, kind: 'push', type: 'event', body: this.randomValue(2) },
      { v: 1, kind: 'error', id: null, code: 1001, name: 'malformed_frame', message: 'fuzz' },
    ]));
  }

  /** A random MessagePack-encodable value (string keys only). */
  randomValue(depth: number): unknown {
    const choice = this.prng.nextInt(depth > 0 ? 11 : 8);
    switch (choice) {
      case 0: return null;
      case 1: return this.prng.nextInt(2) === 0;
      case 2: return this.prng.nextInt(1000) - 500;
      case 3: return this.pick([2 ** 32, 2 ** 53 - 1, -(2 ** 40), 1.5, Number.NaN, 1e300]);
      case 4: return this.randomType();
      case 5: return this.prng.nextBytes(this.prng.nextInt(80));
      case 6: return this.pick(['buy', 'sell', 'net.bitwrk/test/hash/0', '', 'mzBc4XEFSdzCDcTxAgf6EZXgsZWpztRhef']);
      case 7: return BigInt(this.prng.nextU32()) * 2n ** 30n + 2n ** 53n + 1n; // a 64-bit integer beyond 2^53
      case 8: return Array.from({ length: this.prng.nextInt(5) }, () => this.randomValue(depth - 1));
      default: {
        const keys = ['article', 'side', 'priceSats', 'address', 'nonce', 'signature', 'bidId', 'txId', 'fields', 'levels', 'topic', this.randomType()];
        return Object.fromEntries(Array.from({ length: this.prng.nextInt(7) }, () => [this.pick(keys), this.randomValue(depth - 1)]));
      }
    }
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
