// An authenticated, encrypted Connection over any Connection: a Noise XX handshake
// (Noise_XX_25519_ChaChaPoly_BLAKE2b) and then ChaCha20-Poly1305 transport messages, all from
// noise-handshake. The daemon uses it for the daemon-to-daemon peer link, straight over a
// WebSocket or piped frame by frame through a relay, which then sees only ciphertext. Identities
// are bound one layer up: each side signs the handshake hash with its BitWrk key.
//
// Frame format. Noise caps one message at 65535 bytes while our frames reach FRAME_BYTES_MAX, so
// one plaintext frame is sealed as consecutive Noise transport messages ("pieces") of at most
// 65519 plaintext bytes, concatenated into one underlying frame; the receiver cuts it every 65535
// bytes. A piece's associated data is one byte saying whether it ends its frame, and the nonces
// count pieces per direction, so a dropped, replayed, reordered, truncated or spliced piece or
// frame fails to decrypt.
import { createRequire } from 'node:module';
import { assert } from '../assert.js';
import type { Clock, TimerId } from '../clock.js';
import { FRAME_BYTES_MAX } from '../limits.js';
import { CLOSE_CODES, type Connection, type ConnectionHandlers } from './connection.js';

export const SECURE_PROTOCOL_NAME = 'Noise_XX_25519_ChaChaPoly_BLAKE2b';
/** Close code for a failed handshake or a frame that does not decrypt. */
export const SECURE_CLOSE_CODE = CLOSE_CODES.secureChannel;
/** Time a handshake may take, on the injected clock. */
export const SECURE_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Largest Noise message, and the plaintext that fits in one next to its 16-byte tag. */
export const NOISE_MESSAGE_BYTES_MAX = 65_535;
const TAG_BYTES = 16;
export const PIECE_PLAINTEXT_BYTES_MAX = NOISE_MESSAGE_BYTES_MAX - TAG_BYTES;
/**
 * noise-handshake writes the piece counter into 32 bits of the ChaCha nonce, so the counter
 * would wrap (and reuse nonces) past this many pieces; a connection stops before that.
 */
export const PIECES_PER_DIRECTION_MAX = 2 ** 32;
/** Decrypted frames held while the owner has not set handlers yet (as WsConnection does). */
const EARLY_FRAMES_MAX = 64;
/** Sizes of XX messages 1-3 with empty payloads: e; e + sealed s + tag; sealed s + tag. */
const HANDSHAKE_MESSAGE_BYTES = [32, 32 + 48 + TAG_BYTES, 48 + TAG_BYTES] as const;
const KEY_BYTES = 32;
const AD_MORE = Buffer.of(0x00);
const AD_LAST = Buffer.of(0x01);

export interface StaticKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export interface SecureSession {
  /** A Connection whose frames are the plaintext frames; send/close/handlers as in Connection. */
  readonly connection: Connection;
  /** Noise handshake hash h (64 bytes with BLAKE2b), equal on both sides; the layer above signs it. */
  readonly handshakeHash: Uint8Array;
  /** The remote party's Noise static public key (32 bytes). */
  readonly remoteStaticKey: Uint8Array;
}

export interface SecureOptions {
  readonly clock: Clock;
  /** Mixed into the handshake; both sides must pass the same bytes (e.g. 'bitwrk-peer/1'). */
  readonly prologue: Uint8Array;
  /** Long-term X25519 key pair; a fresh one is generated when omitted. */
  readonly staticKeyPair?: StaticKeyPair;
  /** Handshake must finish within this (default SECURE_HANDSHAKE_TIMEOUT_MS, on the injected clock). */
  readonly handshakeTimeoutMs?: number;
}

export class SecureChannelError extends Error {
  override name = 'SecureChannelError';
}

// The parts of noise-handshake (plain CommonJS, untyped) that this module uses.
interface NoiseHandshake {
  readonly protocol: Buffer;
  readonly complete: boolean;
  readonly rs: Buffer | null;
  readonly tx: Buffer | null;
  readonly rx: Buffer | null;
  readonly hash: Buffer | null;
  initialise(prologue: Buffer): void;
  send(payload?: Buffer): Buffer;
  recv(message: Buffer): Buffer;
}
interface NoiseCipher {
  readonly nonce: number;
  encrypt(plaintext: Buffer, associatedData: Buffer): Buffer;
  decrypt(ciphertext: Buffer, associatedData: Buffer): Buffer;
}
type NoiseHandshakeClass = new (pattern: 'XX', initiator: boolean, staticKeyPair?: StaticKeyPair) => NoiseHandshake;
type NoiseCipherClass = new (key: Buffer) => NoiseCipher;
interface NoiseCurve {
  generateKeyPair(): { publicKey: Buffer; secretKey: Buffer };
}

const requireCommonJs = createRequire(import.meta.url);
const NoiseState = requireCommonJs('noise-handshake') as NoiseHandshakeClass;
const CipherState = requireCommonJs('noise-handshake/cipher') as NoiseCipherClass;
const curve = requireCommonJs('noise-handshake/dh') as NoiseCurve;

export function generateStaticKeyPair(): StaticKeyPair {
  const { publicKey, secretKey } = curve.generateKeyPair();
  return { publicKey: new Uint8Array(publicKey), secretKey: new Uint8Array(secretKey) };
}

/** Size of the ciphertext frame that carries a plaintext frame of `plaintextBytes`. */
export function secureFrameBytes(plaintextBytes: number): number {
  assert(Number.isSafeInteger(plaintextBytes) && plaintextBytes >= 0, 'plaintextBytes must be a non-negative integer');
  return plaintextBytes + TAG_BYTES * pieceCount(plaintextBytes);
}

/** Largest ciphertext frame a secure connection sends (WebSocket maxPayload for secure links). */
export const SECURE_FRAME_BYTES_MAX = secureFrameBytes(FRAME_BYTES_MAX);

export function secureInitiator(connection: Connection, options: SecureOptions): Promise<SecureSession> {
  return handshake(connection, options, true);
}

export function secureResponder(connection: Connection, options: SecureOptions): Promise<SecureSession> {
  return handshake(connection, options, false);
}

function handshake(connection: Connection, options: SecureOptions, initiator: boolean): Promise<SecureSession> {
  return new Promise((resolve, reject) => {
    new Handshake(connection, options, initiator, resolve, reject).start();
  });
}

/** One run of the XX handshake; afterwards it routes the underlying events to the SecureConnection. */
class Handshake {
  private readonly noise: NoiseHandshake;
  /** Sizes of the messages still expected from the peer, in order. */
  private readonly expected: number[];
  private timer: TimerId | undefined;
  private settled = false;
  private secure: SecureConnection | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly options: SecureOptions,
    private readonly initiator: boolean,
    private readonly resolve: (session: SecureSession) => void,
    private readonly reject: (error: SecureChannelError) => void,
  ) {
    this.noise = new NoiseState('XX', initiator, staticKeyPairFor(options));
    assert(this.noise.protocol.toString('latin1') === SECURE_PROTOCOL_NAME, 'noise-handshake changed its protocol');
    this.noise.initialise(toBuffer(options.prologue));
    const [first, second, third] = HANDSHAKE_MESSAGE_BYTES;
    this.expected = initiator ? [second] : [first, third];
  }

  start(): void {
    const timeoutMs = this.options.handshakeTimeoutMs ?? SECURE_HANDSHAKE_TIMEOUT_MS;
    assert(Number.isFinite(timeoutMs) && timeoutMs > 0, 'handshakeTimeoutMs must be positive');
    this.timer = this.options.clock.setTimer(() => this.fail(`handshake timed out after ${timeoutMs} ms`), timeoutMs);
    // The initiator speaks first, so that whatever the peer sent before is read as message 2.
    if (this.initiator) this.sendMessage();
    if (this.settled) return;
    // One set of handlers for the connection's whole life: setHandlers may replay a close.
    this.connection.setHandlers({
      frame: (frame) => (this.secure !== undefined ? this.secure.receive(frame) : this.step(frame)),
      close: (code, reason) => (this.secure !== undefined ? this.secure.closed(code, reason) : this.fail(`connection closed during handshake (${code} ${reason})`)),
    });
  }

  private step(frame: Uint8Array): void {
    if (this.settled) return;
    const expectedBytes = this.expected.shift();
    if (expectedBytes === undefined || frame.byteLength !== expectedBytes) {
      return this.fail(`handshake message of ${frame.byteLength} bytes, expected ${expectedBytes ?? 'none'}`);
    }
    try {
      this.noise.recv(toBuffer(frame));
    } catch (error) {
      return this.fail(`handshake message rejected: ${(error as Error).message}`);
    }
    if (!this.noise.complete) this.sendMessage();
    if (!this.settled && this.noise.complete) this.succeed();
  }

  private sendMessage(): void {
    let message: Buffer;
    try {
      message = this.noise.send();
    } catch (error) {
      return this.fail(`handshake message not made: ${(error as Error).message}`);
    }
    if (!this.connection.send(toBytes(message))) this.fail('connection closed during handshake');
  }

  private succeed(): void {
    const { tx, rx, rs, hash } = this.noise;
    assert(tx !== null && rx !== null && rs !== null && hash !== null, 'a complete handshake has keys');
    this.finish();
    // noise-handshake's tx is this side's sending key (initiator.tx === responder.rx).
    this.secure = new SecureConnection(this.connection, new CipherState(Buffer.from(tx)), new CipherState(Buffer.from(rx)));
    this.resolve({ connection: this.secure, handshakeHash: new Uint8Array(hash), remoteStaticKey: new Uint8Array(rs) });
  }

  private fail(reason: string): void {
    if (this.settled) return;
    this.finish();
    this.connection.close(SECURE_CLOSE_CODE, reason);
    this.reject(new SecureChannelError(reason));
  }

  private finish(): void {
    this.settled = true;
    if (this.timer !== undefined) this.options.clock.clearTimer(this.timer);
  }
}

function staticKeyPairFor(options: SecureOptions): StaticKeyPair | undefined {
  const pair = options.staticKeyPair;
  if (pair === undefined) return undefined;
  assert(pair.publicKey.byteLength === KEY_BYTES && pair.secretKey.byteLength === KEY_BYTES, 'static keys are 32 bytes');
  // noise-handshake keeps the pair; copies keep the caller's buffers out of its reach.
  return { publicKey: Buffer.from(pair.publicKey), secretKey: Buffer.from(pair.secretKey) };
}

/** The plaintext Connection of a session: seals frames on send, opens them on receipt. */
class SecureConnection implements Connection {
  private handlers: ConnectionHandlers | undefined;
  private readonly early: Uint8Array[] = [];
  private closedWith: { code: number; reason: string } | undefined;
  /** Set once this side has given up on the channel; later frames are not opened. */
  private broken = false;

  constructor(
    private readonly inner: Connection,
    private readonly sender: NoiseCipher,
    private readonly receiver: NoiseCipher,
  ) {}

  get remoteAddress(): string {
    return this.inner.remoteAddress;
  }

  get bufferedBytes(): number {
    return this.inner.bufferedBytes;
  }

  get isOpen(): boolean {
    return !this.broken && this.closedWith === undefined && this.inner.isOpen;
  }

  setHandlers(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    for (const frame of this.early.splice(0)) handlers.frame(frame);
    if (this.closedWith !== undefined) handlers.close(this.closedWith.code, this.closedWith.reason);
  }

  send(frame: Uint8Array): boolean {
    if (!this.isOpen) return false;
    if (frame.byteLength > FRAME_BYTES_MAX) {
      // As a WebSocket peer would, refuse the frame by closing rather than throwing at the caller.
      this.breakWith(CLOSE_CODES.messageTooBig, `frame of ${frame.byteLength} bytes exceeds ${FRAME_BYTES_MAX}`);
      return false;
    }
    if (this.sender.nonce + pieceCount(frame.byteLength) > PIECES_PER_DIRECTION_MAX) {
      this.breakWith(SECURE_CLOSE_CODE, 'nonces used up, reconnect');
      return false;
    }
    return this.inner.send(toBytes(seal(this.sender, toBuffer(frame))));
  }

  close(code: number, reason: string): void {
    this.inner.close(code, reason);
  }

  /** A ciphertext frame from the underlying connection. */
  receive(frame: Uint8Array): void {
    if (this.broken || this.closedWith !== undefined) return;
    const opened = open(this.receiver, toBuffer(frame));
    if (typeof opened === 'string') return this.breakWith(SECURE_CLOSE_CODE, opened);
    if (this.handlers !== undefined) return this.handlers.frame(opened);
    if (this.early.length >= EARLY_FRAMES_MAX) return this.breakWith(CLOSE_CODES.slowConsumer, 'too many early frames');
    this.early.push(opened);
  }

  /** The underlying connection closed. */
  closed(code: number, reason: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = { code, reason };
    this.handlers?.close(code, reason);
  }

  private breakWith(code: number, reason: string): void {
    this.broken = true;
    this.inner.close(code, reason);
  }
}

function pieceCount(plaintextBytes: number): number {
  return Math.max(1, Math.ceil(plaintextBytes / PIECE_PLAINTEXT_BYTES_MAX));
}

/** Encrypts one plaintext frame as its pieces, concatenated. */
function seal(sender: NoiseCipher, plaintext: Buffer): Buffer {
  const count = pieceCount(plaintext.byteLength);
  const pieces: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    const start = index * PIECE_PLAINTEXT_BYTES_MAX;
    const chunk = plaintext.subarray(start, start + PIECE_PLAINTEXT_BYTES_MAX);
    pieces.push(sender.encrypt(chunk, index === count - 1 ? AD_LAST : AD_MORE));
  }
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

/** Decrypts one ciphertext frame, or says why it cannot be opened. */
function open(receiver: NoiseCipher, ciphertext: Buffer): Uint8Array | string {
  const problem = shapeProblem(receiver, ciphertext.byteLength);
  if (problem !== undefined) return problem;
  const count = Math.ceil(ciphertext.byteLength / NOISE_MESSAGE_BYTES_MAX);
  const pieces: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    const start = index * NOISE_MESSAGE_BYTES_MAX;
    const piece = ciphertext.subarray(start, start + NOISE_MESSAGE_BYTES_MAX);
    try {
      pieces.push(receiver.decrypt(piece, index === count - 1 ? AD_LAST : AD_MORE));
    } catch {
      return `piece ${index} of a ${ciphertext.byteLength}-byte frame does not decrypt`;
    }
  }
  return toBytes(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
}

/** Checks the frame's size before any decryption, so a malformed frame costs nothing. */
function shapeProblem(receiver: NoiseCipher, frameBytes: number): string | undefined {
  const count = Math.ceil(frameBytes / NOISE_MESSAGE_BYTES_MAX);
  const lastBytes = frameBytes - (count - 1) * NOISE_MESSAGE_BYTES_MAX;
  if (frameBytes < TAG_BYTES || lastBytes < TAG_BYTES) return `malformed frame of ${frameBytes} bytes`;
  if (frameBytes - count * TAG_BYTES > FRAME_BYTES_MAX) return `frame of ${frameBytes} bytes exceeds the limit`;
  if (receiver.nonce + count > PIECES_PER_DIRECTION_MAX) return 'nonces used up, reconnect';
  return undefined;
}

/** A plain Uint8Array view: a Buffer's slice() is a view, not the copy a receiver may expect. */
function toBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A Buffer view of the bytes (noise-handshake re-encodes anything that is not a Buffer). */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
