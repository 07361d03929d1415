// Goal: the decoder for untrusted frames never crashes, hangs or returns data outside the limits;
// every bad input becomes a ProtocolError with a stable code. Method: fast-check over random
// bytes, mutations of valid frames and hand-made hostile headers; round trips for valid values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeUntrusted, encode, decodeWith } from '../../src/transport/codec.js';
import { ERRORS } from '../../src/transport/errors.js';
import { holdsFloat64 } from '../../src/transport/msgpack-scan.js';
import { MESSAGE_DEPTH_MAX, MESSAGE_ENTRIES_MAX, FRAME_BYTES_MAX } from '../../src/limits.js';
import { z } from 'zod';

const errorCodes = new Set<number>(Object.values(ERRORS).map((entry) => entry.code));

function assertProtocolErrorOrValue(bytes: Uint8Array): void {
  const result = decodeUntrusted(bytes);
  if (!result.ok) {
    assert.ok(errorCodes.has(result.error.code), `unknown code ${result.error.code}`);
    assert.ok(result.error.message.length > 0);
  }
}

// Plain data that MessagePack carries losslessly for us (no undefined, no -0, safe integers).
const plainValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
    fc.string({ maxLength: 50 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 10 }).filter((key) => key !== '__proto__'), tie('value'), { maxKeys: 5 }),
  ),
})).value;

test('valid values round-trip through encode and decodeUntrusted', () => {
  fc.assert(
    fc.property(plainValue, (value) => {
      const result = decodeUntrusted(encode(value));
      assert.ok(result.ok, result.ok ? '' : result.error.message);
      assert.deepEqual(normalise(result.value), normalise(value));
    }),
    { numRuns: 500 },
  );
});

function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value) };
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, normalise(inner)]));
  }
  return value;
}

test('random bytes give a value or a protocol error, never an exception', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => assertProtocolErrorOrValue(bytes)), {
    numRuns: 5000,
  });
});

test('every strict prefix of a valid multi-byte frame is rejected as malformed', () => {
  fc.assert(
    fc.property(plainValue, fc.nat(), (value, cut) => {
      const frame = encode({ v: 1, kind: 'request', id: 1, type: 'x', body: value });
      const prefix = frame.subarray(0, cut % frame.length);
      const result = decodeUntrusted(prefix);
      assert.equal(result.ok, false);
      if (!result.ok) assert.equal(result.error.errorName, 'malformed_frame');
    }),
    { numRuns: 1000 },
  );
});

test('flipping bytes of a valid frame never crashes the decoder', () => {
  fc.assert(
    fc.property(plainValue, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (value, flips) => {
      const frame = encode({ body: value });
      for (const [position, byte] of flips) frame[position % frame.length] = byte;
      assertProtocolErrorOrValue(frame);
    }),
    { numRuns: 2000 },
  );
});

// Test errors by descending severity: each hostile shape gets malformed_frame with a reason.
const hostile: Array<[string, Uint8Array, RegExp]> = [
  ['byte 0xc1', Uint8Array.of(0xc1), /0xc1/],
  ['array32 claiming 4 billion entries', Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01), /exceeds|truncated/],
  ['map32 claiming 4 billion entries', Uint8Array.of(0xdf, 0xff, 0xff, 0xff, 0xff), /exceeds|truncated/],
  ['str32 claiming 4 GiB', Uint8Array.of(0xdb, 0xff, 0xff, 0xff, 0xff, 0x61), /exceeds|truncated/],
  ['bin32 claiming 4 GiB', Uint8Array.of(0xc6, 0xff, 0xff, 0xff, 0xff, 0x61), /truncated/],
  ['extension type', Uint8Array.of(0xd4, 0x01, 0x00), /extension/],
  ['timestamp extension', Uint8Array.of(0xd6, 0xff, 0, 0, 0, 0), /extension/],
  ['integer map key', Uint8Array.of(0x81, 0x01, 0x02), /keys must be strings/],
  ['__proto__ key', Uint8Array.of(0x81, 0xa9, ...Buffer.from('__proto__'), 0x01), /__proto__/],
  ['trailing bytes', Uint8Array.of(0xc0, 0xc0), /trailing/],
  ['empty frame', new Uint8Array(0), /truncated/],
  ['deep nesting', new Uint8Array(100_000).fill(0x91), /nesting/],
];

for (const [name, bytes, reason] of hostile) {
  test(`hostile frame rejected: ${name}`, () => {
    const result = decodeUntrusted(bytes);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.errorName, 'malformed_frame');
    assert.match(result.error.message, reason);
  });
}

test('nesting up to the depth limit is accepted, one more level is not', () => {
  let value: unknown = 1;
  for (let depth = 0; depth < MESSAGE_DEPTH_MAX; depth++) value = [value];
  assert.ok(decodeUntrusted(encode(value)).ok);
  assert.equal(decodeUntrusted(encode([value])).ok, false);
});

test('a container with more entries than the limit is rejected before decoding', () => {
  const result = decodeUntrusted(encode(new Array(MESSAGE_ENTRIES_MAX + 1).fill(0)));
  assert.equal(result.ok, false);
});

test('a frame over the size limit is rejected without being scanned', () => {
  const result = decodeUntrusted(new Uint8Array(FRAME_BYTES_MAX + 1));
  assert.equal(result.ok, false);
  if (!result.ok) assert.equal(result.error.errorName, 'frame_too_large');
});

test('wrong types are caught by the schema with a readable path', () => {
  const schema = z.object({ price: z.number().int(), article: z.string() });
  const result = decodeWith(schema, encode({ price: 'ten', article: 'fnord' }));
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.error.errorName, 'invalid_body');
    assert.match(result.error.message, /price/);
  }
  const good = decodeWith(schema, encode({ price: 10, article: 'fnord' }));
  assert.deepEqual(good, { ok: true, value: { price: 10, article: 'fnord' } });
});

test('undefined is encoded as nil, so other languages never see an extension', () => {
  const frame = encode({ a: undefined });
  assert.ok(!frame.includes(0xd4));
  const result = decodeUntrusted(frame);
  assert.ok(result.ok);
});

test('holdsFloat64 looks at heads only: a 0xcb byte inside a string or an integer is not a float', () => {
  const noFloat = encode({ name: 'Ë\u00cb', atMs: 0xcb_cb_cb_cb_cb_cb, sats: 2 ** 40 + 0xcb });
  assert.ok(noFloat.includes(0xcb), 'the bytes hold 0xcb');
  assert.equal(holdsFloat64(noFloat), false);
  assert.equal(holdsFloat64(encode({ ratio: 0.5 })), true);
});
