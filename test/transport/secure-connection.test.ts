// Goal: the secure channel (Noise XX over a Connection) authenticates both ends, hides every
// plaintext byte, carries frames up to FRAME_BYTES_MAX intact and in order, rejects any tampered,
// dropped, replayed or spliced frame by closing with 4008, and fails a bad handshake exactly once.
// Method: MemoryNetwork on a VirtualClock with a seeded Prng (plus fast-check where a property
// fits), a real loopback WebSocket for the same round trip, and a recording/rewriting Connection
// between the secure layer and the transport to play the wire, a relay and a man in the middle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock.js';
import { FRAME_BYTES_MAX } from '../../src/limits.js';
import { createPrng, type Prng } from '../../src/random.js';
import { CLOSE_CODES, type Connection, type ConnectionHandlers } from '../../src/transport/connection.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import {
  SECURE_CLOSE_CODE,
  SECURE_FRAME_BYTES_MAX,
  SECURE_PROTOCOL_NAME,
  SecureChannelError,
  generateStaticKeyPair,
  secureFrameBytes,
  secureInitiator,
  secureResponder,
  type SecureOptions,
  type SecureSession,
  type StaticKeyPair,
} from '../../src/transport/secure-connection.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { attachWebSocketServer } from '../../src/transport/ws-server.js';
import { waitFor } from '../support/ws-server.js';
import { flushClock } from '../support/memory-pair.js';

const PROLOGUE = new TextEncoder().encode('bitwrk-peer/1');
const PIECE = 65_535;
const EDGE_SIZES = [0, 1, 65_519, 65_520, 200_000, FRAME_BYTES_MAX];

/** A pass-through Connection that records the bytes it carries and lets a test rewrite what it sends. */
class Tap implements Connection {
  readonly sent: Uint8Array[] = [];
  readonly received: Uint8Array[] = [];
  rewrite: ((frame: Uint8Array) => Uint8Array[]) | undefined;
  /** While set, close() is only recorded, as a WebSocket that waits for its closing handshake. */
  heldCloses: Array<{ code: number; reason: string }> | undefined;

  constructor(readonly inner: Connection) {}

  get remoteAddress(): string {
    return this.inner.remoteAddress;
  }
  get bufferedBytes(): number {
    return this.inner.bufferedBytes;
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  setHandlers(handlers: ConnectionHandlers): void {
    this.inner.setHandlers({ frame: (frame) => (this.received.push(new Uint8Array(frame)), handlers.frame(frame)), close: handlers.close });
  }
  send(frame: Uint8Array): boolean {
    const frames = this.rewrite === undefined ? [frame] : this.rewrite(frame);
    for (const each of frames) {
      this.sent.push(new Uint8Array(each));
      if (!this.inner.send(each)) return false;
    }
    return true;
  }
  close(code: number, reason: string): void {
    if (this.heldCloses !== undefined) this.heldCloses.push({ code, reason });
    else this.inner.close(code, reason);
  }
}

interface Seen {
  frames: Uint8Array[];
  closes: Array<{ code: number; reason: string }>;
}

function collect(connection: Connection): Seen {
  const seen: Seen = { frames: [], closes: [] };
  connection.setHandlers({ frame: (frame) => seen.frames.push(frame), close: (code, reason) => seen.closes.push({ code, reason }) });
  return seen;
}

/**
 * Two raw memory connections ('a' dials 'b:1') and a flush that fires the timers due in the next
 * `ms` (by default enough for any latency here, and far less than a handshake timeout), letting
 * promises settle between timers.
 */
function memoryLink(seed = 1, latencyMs = { min: 1, max: 5 }) {
  const clock = new VirtualClock(0);
  const network = new MemoryNetwork({ clock, prng: createPrng(seed), faults: { latencyMs } });
  let accepted: Connection | undefined;
  network.listen('b:1', (connection) => (accepted = connection));
  const client = new Tap(network.connect('a', 'b:1')!);
  const server = new Tap(accepted!);
  const flush = (ms = 100): Promise<void> => flushClock(clock, ms, 10_000);
  return { clock, network, client, server, flush };
}

function options(clock: VirtualClock, staticKeyPair?: StaticKeyPair, extra: Partial<SecureOptions> = {}): SecureOptions {
  return { clock, prologue: PROLOGUE, ...(staticKeyPair === undefined ? {} : { staticKeyPair }), ...extra };
}

/** A finished handshake over a memory link: `a` initiated, `b` responded. */
async function securePair(seed = 1) {
  const link = memoryLink(seed);
  const keysA = generateStaticKeyPair();
  const keysB = generateStaticKeyPair();
  const initiating = secureInitiator(link.client, options(link.clock, keysA));
  const responding = secureResponder(link.server, options(link.clock, keysB));
  await link.flush();
  const [a, b] = await Promise.all([initiating, responding]);
  return { ...link, a, b, keysA, keysB };
}

/** Records how a handshake promise settles, so a test can check it settled once and how. */
function outcome(promise: Promise<SecureSession>): Array<SecureSession | unknown> {
  const outcomes: Array<SecureSession | unknown> = [];
  promise.then((session) => outcomes.push(session), (error: unknown) => outcomes.push(error));
  return outcomes;
}

function assertRejectedOnce(outcomes: unknown[], pattern: RegExp): void {
  assert.equal(outcomes.length, 1, 'settled exactly once');
  const error = outcomes[0];
  assert.ok(error instanceof SecureChannelError, `rejected with SecureChannelError, got ${String(error)}`);
  assert.match(error.message, pattern);
}

function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array, label: string): void {
  assert.ok(actual !== undefined, `${label}: missing`);
  assert.ok(Buffer.from(actual).equals(expected), `${label}: ${actual.byteLength} bytes differ from the ${expected.byteLength} sent`);
}

function sameFrames(actual: Uint8Array[], expected: Uint8Array[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: frame count`);
  expected.forEach((frame, index) => sameBytes(actual[index], frame, `${label} frame ${index}`));
}

function framesOf(prng: Prng, sizes: readonly number[]): Uint8Array[] {
  return sizes.map((size) => prng.nextBytes(size));
}

test('over memory: the handshake agrees on the hash and the static keys, edge-sized frames round-trip', async () => {
  // Goal: a completed handshake gives both sides the same 64-byte hash and each other's static key,
  // and frames of the edge sizes travel both ways intact, in order, at the advertised size.
  // Method: a memory link with random latency; the taps record each ciphertext frame's size.
  const { a, b, keysA, keysB, client, flush } = await securePair(7);
  assert.equal(SECURE_PROTOCOL_NAME, 'Noise_XX_25519_ChaChaPoly_BLAKE2b');
  assert.equal(a.handshakeHash.byteLength, 64);
  sameBytes(b.handshakeHash, a.handshakeHash, 'handshake hash');
  sameBytes(a.remoteStaticKey, keysB.publicKey, 'initiator sees the responder key');
  sameBytes(b.remoteStaticKey, keysA.publicKey, 'responder sees the initiator key');
  const [atB, atA] = [collect(b.connection), collect(a.connection)];
  const frames = framesOf(createPrng(1), EDGE_SIZES);
  for (const frame of frames) assert.equal(a.connection.send(frame), true);
  for (const frame of [...frames].reverse()) assert.equal(b.connection.send(frame), true);
  await flush();
  sameFrames(atB.frames, frames, 'a to b');
  sameFrames(atA.frames, [...frames].reverse(), 'b to a');
  assert.deepEqual(client.sent.slice(2).map((frame) => frame.byteLength), EDGE_SIZES.map(secureFrameBytes));
  assert.deepEqual([atA.closes, atB.closes], [[], []]);
});

test('secureFrameBytes: one 16-byte tag per started 65519 bytes, at least one', () => {
  // Goal: the size function the WebSocket limits are set from. Method: known values and a property.
  assert.deepEqual([0, 1, 65_519, 65_520, 131_038, 131_039].map(secureFrameBytes), [16, 17, 65_535, 65_552, 131_070, 131_087]);
  assert.equal(SECURE_FRAME_BYTES_MAX, secureFrameBytes(FRAME_BYTES_MAX));
  assert.equal(SECURE_FRAME_BYTES_MAX, FRAME_BYTES_MAX + 17 * 16);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: FRAME_BYTES_MAX }), (size) => {
      const pieces = Math.max(1, Math.ceil(size / 65_519));
      assert.equal(secureFrameBytes(size), size + 16 * pieces);
    }),
  );
});

test('property: random frame sizes and contents round-trip in order in both directions', async () => {
  // Goal: whatever the sizes (edges around the piece size included), what is sent is what arrives.
  // Method: fast-check draws sizes and a content seed; a fresh secure memory pair per run.
  const size = fc.oneof(
    fc.integer({ min: 0, max: 300 }),
    fc.integer({ min: 65_500, max: 65_540 }),
    fc.integer({ min: 131_000, max: 131_100 }),
    fc.integer({ min: 0, max: FRAME_BYTES_MAX }),
    fc.constantFrom(...EDGE_SIZES),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(size, { minLength: 1, maxLength: 5 }), fc.integer(), async (sizes, seed) => {
      const { a, b, flush } = await securePair(seed);
      const [atB, atA] = [collect(b.connection), collect(a.connection)];
      const prng = createPrng(seed);
      const forward = framesOf(prng, sizes);
      const backward = framesOf(prng, [...sizes].reverse());
      forward.forEach((frame) => a.connection.send(frame));
      backward.forEach((frame) => b.connection.send(frame));
      await flush();
      sameFrames(atB.frames, forward, 'a to b');
      sameFrames(atA.frames, backward, 'b to a');
    }),
    { numRuns: 30 },
  );
});

test('over a loopback WebSocket: handshake and edge-sized frames both ways', async () => {
  // Goal: the same promises over real sockets, with maxPayload set to SECURE_FRAME_BYTES_MAX.
  // Method: ws-server on 127.0.0.1 and connectWebSocket; timers on a VirtualClock that stays put.
  const clock = new VirtualClock(0);
  const httpServer = createServer((_request, response) => response.writeHead(404).end());
  let accepted: Connection | undefined;
  const endpoint = attachWebSocketServer(httpServer, { clock, frameBytesMax: SECURE_FRAME_BYTES_MAX, onConnection: (c) => (accepted = c) });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve()));
  try {
    const url = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/ws`;
    const raw = await connectWebSocket(url, { clock, frameBytesMax: SECURE_FRAME_BYTES_MAX });
    await waitFor(() => accepted !== undefined);
    const [keysA, keysB] = [generateStaticKeyPair(), generateStaticKeyPair()];
    const [a, b] = await Promise.all([secureInitiator(raw, options(clock, keysA)), secureResponder(accepted!, options(clock, keysB))]);
    sameBytes(b.handshakeHash, a.handshakeHash, 'handshake hash');
    sameBytes(a.remoteStaticKey, keysB.publicKey, 'initiator sees the responder key');
    sameBytes(b.remoteStaticKey, keysA.publicKey, 'responder sees the initiator key');
    const [atB, atA] = [collect(b.connection), collect(a.connection)];
    const frames = framesOf(createPrng(2), EDGE_SIZES);
    for (const frame of frames) assert.equal(a.connection.send(frame), true);
    for (const frame of frames) assert.equal(b.connection.send(frame), true);
    await waitFor(() => atB.frames.length === frames.length && atA.frames.length === frames.length);
    sameFrames(atB.frames, frames, 'a to b');
    sameFrames(atA.frames, frames, 'b to a');
    a.connection.close(CLOSE_CODES.normal, 'done');
    await waitFor(() => atB.closes.length === 1 && atA.closes.length === 1);
    assert.equal(atB.closes[0]!.code, CLOSE_CODES.normal);
  } finally {
    await endpoint.close();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  }
});

test('the bytes on the wire never contain the plaintext', async () => {
  // Goal: confidentiality against whoever carries the frames (a relay, the network).
  // Method: a recognisable 1 KiB text sent both ways, alone and inside a multi-piece frame; no
  // 16-byte window of it appears in anything either tap sent or received, handshake included.
  const { a, b, client, server, flush } = await securePair(3);
  const text = new TextEncoder().encode('BitWrk plaintext, readable by the two peers only. '.repeat(25).slice(0, 1024));
  assert.equal(text.byteLength, 1024);
  const large = new Uint8Array(150_000);
  for (let offset = 0; offset + text.byteLength <= large.byteLength; offset += text.byteLength) large.set(text, offset);
  const atB = collect(b.connection);
  collect(a.connection);
  a.connection.send(text);
  a.connection.send(large);
  b.connection.send(text);
  await flush();
  sameFrames(atB.frames, [text, large], 'delivered');
  const wire = Buffer.concat([...client.sent, ...client.received, ...server.sent, ...server.received]);
  assert.ok(wire.byteLength > large.byteLength);
  for (let offset = 0; offset < text.byteLength; offset += 16) {
    assert.equal(wire.indexOf(text.subarray(offset, offset + 16)), -1, `plaintext bytes ${offset}-${offset + 15} on the wire`);
  }
});

/**
 * Sends `frames` from a to b with the third-party `rewrite` applied to a's outgoing ciphertext,
 * and returns what b delivered and how both ends closed.
 */
async function underAttack(sizes: readonly number[], rewrite: (frame: Uint8Array, index: number) => Uint8Array[], seed = 5) {
  const { a, b, client, flush } = await securePair(seed);
  let index = 0;
  client.rewrite = (frame) => rewrite(frame, index++);
  const [atB, atA] = [collect(b.connection), collect(a.connection)];
  const frames = framesOf(createPrng(seed), sizes);
  frames.forEach((frame) => a.connection.send(frame));
  await assert.doesNotReject(flush(), 'nothing escapes the receiver');
  return { frames, atA, atB, b };
}

function assertRefused(result: Awaited<ReturnType<typeof underAttack>>, deliveredCount: number, reason: RegExp): void {
  sameFrames(result.atB.frames, result.frames.slice(0, deliveredCount), 'delivered before the attack');
  assert.equal(result.atB.closes.length, 1);
  assert.equal(result.atB.closes[0]!.code, SECURE_CLOSE_CODE);
  assert.match(result.atB.closes[0]!.reason, reason);
  assert.equal(result.atA.closes[0]?.code, SECURE_CLOSE_CODE, 'the sender learns of the close');
  assert.equal(result.b.connection.isOpen, false);
  assert.equal(result.b.connection.send(new Uint8Array(1)), false, 'sending after close');
}

const flipBit = (frame: Uint8Array, position: number): Uint8Array => {
  const copy = new Uint8Array(frame); // a copy even of a Buffer, whose slice() is a view
  copy[Math.floor(position / 8) % copy.byteLength]! ^= 1 << position % 8;
  return copy;
};

test('property: one flipped bit anywhere in a transport frame closes with 4008, nothing wrong arrives', async () => {
  // Goal: integrity of every byte, tags included. Method: fast-check picks the frame size and the
  // bit; the second frame is flipped, so the first arrives and nothing after it.
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 200_000 }), fc.nat(), async (size, position) => {
      const result = await underAttack([100, size, 100], (frame, index) => [index === 1 ? flipBit(frame, position) : frame]);
      assertRefused(result, 1, /does not decrypt/);
    }),
    { numRuns: 40 },
  );
});

test('a dropped frame or a replayed frame closes with 4008', async () => {
  // Goal: the piece counter catches loss and replay. Method: drop the second frame; separately,
  // send the first frame twice. Only the frames before the gap or the copy arrive.
  assertRefused(await underAttack([10, 20, 30], (frame, index) => (index === 1 ? [] : [frame])), 1, /does not decrypt/);
  assertRefused(await underAttack([10, 20, 30], (frame, index) => (index === 0 ? [frame, frame] : [frame])), 1, /does not decrypt/);
  assertRefused(await underAttack([70_000, 20], (frame, index) => (index === 0 ? [frame, frame] : [frame])), 1, /does not decrypt/);
});

test('truncated frames close with 4008: a byte short, the last piece cut off, a stub, nothing', async () => {
  // Goal: the receiver notices a shortened frame, also one cut exactly at a piece boundary (the
  // end-of-frame byte in the associated data). Method: rewrite the second of three frames.
  const cut = (bytes: number) => (frame: Uint8Array, index: number) => [index === 1 ? frame.subarray(0, bytes < 0 ? frame.byteLength + bytes : bytes) : frame];
  assertRefused(await underAttack([5, 1000, 5], cut(-1)), 1, /does not decrypt/);
  assertRefused(await underAttack([5, 70_000, 5], cut(PIECE)), 1, /piece 0 .* does not decrypt/);
  assertRefused(await underAttack([5, 70_000, 5], cut(PIECE + 10)), 1, /malformed/);
  assertRefused(await underAttack([5, 1000, 5], cut(0)), 1, /malformed/);
});

test('reordered or spliced pieces close with 4008: swapped pieces, two frames joined, one frame split', async () => {
  // Goal: pieces only decrypt in their place. Method: swap the first two pieces of a three-piece
  // frame; join two single-piece frames into one; split a two-piece frame into two frames.
  const swap = (frame: Uint8Array, index: number): Uint8Array[] => {
    if (index !== 1) return [frame];
    const swapped = Buffer.concat([frame.subarray(PIECE, 2 * PIECE), frame.subarray(0, PIECE), frame.subarray(2 * PIECE)]);
    return [swapped];
  };
  assertRefused(await underAttack([5, 3 * 65_519, 5], swap), 1, /piece 0 .* does not decrypt/);
  let held: Uint8Array | undefined;
  const join = (frame: Uint8Array, index: number): Uint8Array[] => {
    if (index === 1) return (held = frame), [];
    return index === 2 ? [Buffer.concat([held!, frame])] : [frame];
  };
  assertRefused(await underAttack([5, 6, 7, 8], join), 1, /piece 0 .* does not decrypt/);
  const split = (frame: Uint8Array, index: number): Uint8Array[] => (index === 1 ? [frame.subarray(0, PIECE), frame.subarray(PIECE)] : [frame]);
  assertRefused(await underAttack([5, 70_000, 5], split), 1, /piece 0 .* does not decrypt/);
});

test('after a bad frame nothing more is delivered, even while the underlying close is still under way', async () => {
  // Goal: a WebSocket keeps delivering frames until its closing handshake ends; the channel must
  // not open them. Method: the receiver's tap holds its close; the attacker sends a flipped copy
  // and then the genuine frame, which would decrypt (the counter did not move) but must not arrive.
  const { a, b, client, server, flush } = await securePair(17);
  const [atB] = [collect(b.connection), collect(a.connection)];
  server.heldCloses = [];
  let index = 0;
  client.rewrite = (frame) => (index++ === 1 ? [flipBit(frame, 3), frame] : [frame]);
  const frames = framesOf(createPrng(17), [10, 20, 30]);
  frames.forEach((frame) => a.connection.send(frame));
  await assert.doesNotReject(flush());
  sameFrames(atB.frames, frames.slice(0, 1), 'delivered');
  assert.equal(server.heldCloses[0]?.code, SECURE_CLOSE_CODE);
  assert.equal(b.connection.isOpen, false);
  assert.equal(b.connection.send(new Uint8Array(1)), false);
});

test('a frame whose plaintext would exceed FRAME_BYTES_MAX is refused before decryption', async () => {
  // Goal: the receiver bounds the plaintext itself. Method: a forged frame of 17 full pieces
  // (17 x 65519 plaintext bytes > 1 MiB) replaces the second frame.
  const forged = new Uint8Array(17 * PIECE);
  assertRefused(await underAttack([5, 5], (frame, index) => [index === 1 ? forged : frame]), 1, /exceeds the limit/);
});

test('sending more than FRAME_BYTES_MAX returns false and closes with 1009', async () => {
  // Goal: an oversized frame is refused like a WebSocket peer would refuse it, without a throw.
  // Method: send FRAME_BYTES_MAX + 1 bytes after a good frame.
  const { a, b, flush } = await securePair(4);
  const [atB, atA] = [collect(b.connection), collect(a.connection)];
  assert.equal(a.connection.send(new Uint8Array(FRAME_BYTES_MAX)), true);
  await flush(); // a memory connection drops what is in flight when its sender closes
  assert.equal(a.connection.send(new Uint8Array(FRAME_BYTES_MAX + 1)), false);
  await flush();
  assert.equal(atA.closes[0]?.code, CLOSE_CODES.messageTooBig);
  assert.equal(atB.closes[0]?.code, CLOSE_CODES.messageTooBig);
  assert.equal(atB.frames.length, 1);
});

test('frames and the close that arrive before the owner sets handlers are held; properties pass through', async () => {
  // Goal: the Connection contract of setHandlers, and the pass-through getters. Method: the
  // initiator sends frames and closes; the responder's owner attaches only after the frames and
  // the close have arrived.
  const { a, b, client, flush } = await securePair(6);
  assert.equal(a.connection.remoteAddress, client.remoteAddress);
  assert.equal(a.connection.isOpen, true);
  const frames = framesOf(createPrng(6), [0, 3, 70_000]);
  frames.forEach((frame) => a.connection.send(frame));
  assert.equal(a.connection.bufferedBytes, frames.reduce((sum, frame) => sum + secureFrameBytes(frame.byteLength), 0));
  await flush();
  a.connection.close(CLOSE_CODES.normal, 'bye');
  assert.equal(a.connection.send(new Uint8Array(1)), false, 'sending after close');
  await flush();
  const atB = collect(b.connection);
  sameFrames(atB.frames, frames, 'held frames');
  assert.deepEqual(atB.closes, [{ code: CLOSE_CODES.normal, reason: 'bye' }]);
});

test('a session without a static key pair gets a fresh one; generated pairs are 32-byte X25519 keys', async () => {
  // Goal: staticKeyPair is optional. Method: no key on either side; each side's remote key must
  // be 32 bytes and differ from the other side's.
  const link = memoryLink(8);
  const [a, b] = await Promise.all([secureInitiator(link.client, options(link.clock)), secureResponder(link.server, options(link.clock)), link.flush()]);
  assert.equal(a.remoteStaticKey.byteLength, 32);
  assert.notDeepEqual(a.remoteStaticKey, b.remoteStaticKey);
  const pair = generateStaticKeyPair();
  assert.deepEqual([pair.publicKey.byteLength, pair.secretKey.byteLength], [32, 32]);
  assert.notDeepEqual(generateStaticKeyPair().publicKey, pair.publicKey);
});

test('the pieces counter stops before noise-handshake\'s 32-bit nonce would wrap', async () => {
  // Goal: no nonce is ever reused. Method (white box): move both cipher states to the last
  // nonce; one single-piece frame still goes, the next send refuses and closes with 4008.
  const { a, b, flush } = await securePair(9);
  const cipherOf = (connection: Connection, side: 'sender' | 'receiver') => (connection as unknown as Record<string, { setNonce(n: number): void }>)[side]!;
  cipherOf(a.connection, 'sender').setNonce(2 ** 32 - 1);
  cipherOf(b.connection, 'receiver').setNonce(2 ** 32 - 1);
  const [atB, atA] = [collect(b.connection), collect(a.connection)];
  assert.equal(a.connection.send(Uint8Array.of(42)), true);
  await flush();
  assert.equal(a.connection.send(Uint8Array.of(43)), false);
  await flush();
  sameFrames(atB.frames, [Uint8Array.of(42)], 'the last allowed frame');
  assert.equal(atA.closes[0]?.code, SECURE_CLOSE_CODE);
  assert.match(atA.closes[0]!.reason, /nonces used up/);
});

/** A raw peer on the other end of a memory link: the secure side under test sits on `side`. */
async function againstRawPeer(side: 'initiator' | 'responder', script: (raw: Tap, frame: Uint8Array, index: number) => void, extra: Partial<SecureOptions> = {}) {
  const link = memoryLink(10);
  const [secureEnd, raw] = side === 'initiator' ? [link.client, link.server] : [link.server, link.client];
  let index = 0;
  const rawSeen: Seen = { frames: [], closes: [] };
  raw.setHandlers({
    frame: (frame) => (rawSeen.frames.push(frame), script(raw, frame, index++)),
    close: (code, reason) => rawSeen.closes.push({ code, reason }),
  });
  const promise = (side === 'initiator' ? secureInitiator : secureResponder)(secureEnd, options(link.clock, undefined, extra));
  const outcomes = outcome(promise);
  return { ...link, raw, rawSeen, outcomes, promise };
}

test('handshake failures: garbage first frame, low-order key, bad message 3', async () => {
  // Goal: a responder rejects what no honest initiator sends, closing with 4008, once.
  // Method: a raw initiator sends 50 random bytes; 32 zero bytes (a low-order point, so the DH
  // fails); or a random message 1 and then 64 random bytes as message 3.
  const prng = createPrng(11);
  const garbage = await againstRawPeer('responder', () => {});
  garbage.raw.send(prng.nextBytes(50));
  await garbage.flush();
  assertRejectedOnce(garbage.outcomes, /50 bytes, expected 32/);
  assert.equal(garbage.rawSeen.closes[0]?.code, SECURE_CLOSE_CODE);

  const lowOrder = await againstRawPeer('responder', () => {});
  lowOrder.raw.send(new Uint8Array(32));
  await lowOrder.flush();
  assertRejectedOnce(lowOrder.outcomes, /handshake message not made/);

  const badThird = await againstRawPeer('responder', (raw) => raw.send(prng.nextBytes(64)));
  badThird.raw.send(prng.nextBytes(32));
  await badThird.flush(20_000);
  assertRejectedOnce(badThird.outcomes, /handshake message rejected/);
  assert.equal(badThird.rawSeen.frames[0]?.byteLength, 96, 'the responder answered message 1');
  assert.equal(badThird.clock.pendingCount, 0, 'the handshake timer is gone');
});

test('handshake failures: wrong-sized or forged message 2, then late frames change nothing', async () => {
  // Goal: an initiator rejects a message 2 of the wrong size or that does not decrypt, once.
  // Method: a raw responder answers message 1 with 95, 97 or 96 random bytes, then keeps sending.
  for (const [bytes, pattern] of [[95, /95 bytes, expected 96/], [97, /97 bytes, expected 96/], [96, /rejected/]] as const) {
    const run = await againstRawPeer('initiator', (raw, _frame, index) => {
      if (index === 0) raw.send(createPrng(bytes).nextBytes(bytes));
    });
    await run.flush();
    assert.equal(run.rawSeen.frames[0]?.byteLength, 32, 'message 1 is the ephemeral key');
    run.raw.send(new Uint8Array(96));
    await run.flush(60_000);
    assertRejectedOnce(run.outcomes, pattern);
    assert.equal(run.rawSeen.closes[0]?.code, SECURE_CLOSE_CODE);
  }
});

test('handshake failures: a frame the responder sent before message 1 is taken for message 2', async () => {
  // Goal: the initiator's state machine cannot be driven out of turn. Method: the raw peer's
  // 96 random bytes wait on the connection before secureInitiator starts.
  const link = memoryLink(18);
  link.server.send(createPrng(18).nextBytes(96));
  await link.flush();
  const outcomes = outcome(secureInitiator(link.client, options(link.clock)));
  await link.flush();
  assertRejectedOnce(outcomes, /handshake message rejected/);
});

test('handshake failures: different prologues fail on both sides', async () => {
  // Goal: the prologue binds the handshake to our protocol. Method: 'bitwrk-peer/1' against
  // 'bitwrk-peer/2'; the initiator cannot open message 2, the responder then sees the close.
  const link = memoryLink(12);
  const initiating = outcome(secureInitiator(link.client, options(link.clock)));
  const other = new TextEncoder().encode('bitwrk-peer/2');
  const responding = outcome(secureResponder(link.server, options(link.clock, undefined, { prologue: other })));
  await link.flush(60_000);
  assertRejectedOnce(initiating, /handshake message rejected/);
  assertRejectedOnce(responding, /closed during handshake \(4008/);
});

test('handshake failures: the peer closes mid-handshake, on either side', async () => {
  // Goal: a close before completion rejects. Method: a raw responder closes on message 1; a raw
  // initiator sends a message 1 and closes on message 2; a connection closed before we start.
  const initiator = await againstRawPeer('initiator', (raw) => raw.close(CLOSE_CODES.normal, 'no thanks'));
  await initiator.flush();
  assertRejectedOnce(initiator.outcomes, /closed during handshake \(1000 no thanks\)/);

  const responder = await againstRawPeer('responder', (raw) => raw.close(CLOSE_CODES.goingAway, 'gone'));
  responder.raw.send(createPrng(13).nextBytes(32));
  await responder.flush();
  assertRejectedOnce(responder.outcomes, /closed during handshake \(1001 gone\)/);

  const link = memoryLink(14);
  link.client.close(CLOSE_CODES.normal, 'early');
  const closed = outcome(secureInitiator(link.client, options(link.clock)));
  await link.flush();
  assertRejectedOnce(closed, /closed during handshake/);
});

test('handshake failures: a silent peer times out on the virtual clock, default 10 s or as set', async () => {
  // Goal: the timeout fires at the configured time and not before, and closes with 4008.
  // Method: a raw responder that never answers; the clock is advanced to just before and to the deadline.
  for (const [timeoutMs, extra] of [[10_000, {}], [500, { handshakeTimeoutMs: 500 }]] as const) {
    const run = await againstRawPeer('initiator', () => {}, extra);
    await run.flush(timeoutMs - 1);
    assert.equal(run.outcomes.length, 0, 'still waiting just before the deadline');
    await run.flush(1);
    assertRejectedOnce(run.outcomes, new RegExp(`timed out after ${timeoutMs} ms`));
    await run.flush(60_000);
    assert.equal(run.rawSeen.closes[0]?.code, SECURE_CLOSE_CODE, 'the peer sees the close');
    assert.equal(run.outcomes.length, 1);
  }
});

test('a relay that pipes frames sees only ciphertext and cannot stop the peers from agreeing', async () => {
  // Goal: the relayed peer link works end to end. Method: alice dials the relay, the relay dials
  // bob and copies frames both ways unchanged; the handshake binds alice to bob's key.
  const clock = new VirtualClock(0);
  const network = new MemoryNetwork({ clock, prng: createPrng(15), faults: { latencyMs: { min: 1, max: 3 } } });
  const [keysA, keysB] = [generateStaticKeyPair(), generateStaticKeyPair()];
  let bob: Promise<SecureSession> | undefined;
  network.listen('bob:1', (connection) => {
    bob = secureResponder(connection, options(clock, keysB));
  });
  network.listen('relay:1', (fromAlice) => {
    const toBob = network.connect('relay', 'bob:1')!;
    fromAlice.setHandlers({ frame: (frame) => toBob.send(frame), close: (code, reason) => toBob.close(code, reason) });
    toBob.setHandlers({ frame: (frame) => fromAlice.send(frame), close: (code, reason) => fromAlice.close(code, reason) });
  });
  const alice = secureInitiator(network.connect('alice', 'relay:1')!, options(clock, keysA));
  advanceAll(clock);
  const [a, b] = await Promise.all([alice, bob!]);
  sameBytes(b.handshakeHash, a.handshakeHash, 'hash through the relay');
  sameBytes(a.remoteStaticKey, keysB.publicKey, 'alice sees bob');
  const atB = collect(b.connection);
  const frames = framesOf(createPrng(15), [0, 100, 200_000]);
  frames.forEach((frame) => a.connection.send(frame));
  advanceAll(clock);
  sameFrames(atB.frames, frames, 'relayed');
});

function advanceAll(clock: VirtualClock): void {
  for (let due = clock.nextDueMs(); due !== undefined; due = clock.nextDueMs()) clock.advanceTo(due);
}

test('a man in the middle who terminates both handshakes leaves the honest sides with different hashes', async () => {
  // Goal: binding identities by signing the handshake hash defeats an active attacker. Method:
  // mallory answers alice's handshake and starts her own with bob; alice's and bob's hashes
  // differ, and an Ed25519 signature by bob over his hash does not verify over alice's.
  const clock = new VirtualClock(0);
  const network = new MemoryNetwork({ clock, prng: createPrng(16) });
  const [keysA, keysB, keysM] = [generateStaticKeyPair(), generateStaticKeyPair(), generateStaticKeyPair()];
  let bob: Promise<SecureSession> | undefined;
  let malloryToBob: Promise<SecureSession> | undefined;
  let malloryToAlice: Promise<SecureSession> | undefined;
  network.listen('bob:1', (connection) => {
    bob = secureResponder(connection, options(clock, keysB));
  });
  network.listen('mallory:1', (fromAlice) => {
    malloryToAlice = secureResponder(fromAlice, options(clock, keysM));
    malloryToBob = secureInitiator(network.connect('mallory', 'bob:1')!, options(clock, keysM));
  });
  const alice = secureInitiator(network.connect('alice', 'mallory:1')!, options(clock, keysA));
  advanceAll(clock);
  const [a, b, ma, mb] = await Promise.all([alice, bob!, malloryToAlice!, malloryToBob!]);
  assert.ok(!Buffer.from(a.handshakeHash).equals(b.handshakeHash), 'alice and bob hold different hashes');
  sameBytes(ma.handshakeHash, a.handshakeHash, 'mallory shares a hash with alice only');
  sameBytes(mb.handshakeHash, b.handshakeHash, 'mallory shares a hash with bob only');
  sameBytes(a.remoteStaticKey, keysM.publicKey, 'alice sees mallory key, not bob');
  const bobIdentity = generateKeyPairSync('ed25519');
  const signature = sign(null, b.handshakeHash, bobIdentity.privateKey);
  assert.equal(verify(null, b.handshakeHash, bobIdentity.publicKey, signature), true);
  assert.equal(verify(null, a.handshakeHash, bobIdentity.publicKey, signature), false, 'the forwarded proof fails at alice');
});
