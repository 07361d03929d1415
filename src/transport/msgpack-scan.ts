// Walks MessagePack bytes without decoding them, to enforce our limits before msgpackr sees
// the data: msgpackr has no strict mode and recurses on nesting. The walk is iterative, reads
// each header once and allocates only two small stacks, so any input finishes in time linear in
// its length. Rejected outright: extension types (we use none), the never-used byte 0xC1,
// non-string map keys and the key "__proto__" (a plain-object decoder could make it a prototype).
import { MESSAGE_DEPTH_MAX, MESSAGE_ENTRIES_MAX, MESSAGE_STRING_BYTES_MAX } from '../limits.js';

export interface ScanLimits {
  readonly depthMax: number;
  readonly entriesMax: number;
  readonly stringBytesMax: number;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = {
  depthMax: MESSAGE_DEPTH_MAX,
  entriesMax: MESSAGE_ENTRIES_MAX,
  stringBytesMax: MESSAGE_STRING_BYTES_MAX,
};

/** Why a frame is malformed, or undefined when it is one well-formed value within the limits. */
export type ScanResult = undefined | string;

// Header classes: how a head byte's payload length is found.
const FIXED = 0; // payload length fixed (in LENGTH)
const STR = 1; // string, payload length in the next LENGTH bytes (0 = fixstr, length in head)
const BIN = 2; // binary, payload length in the next LENGTH bytes
const ARRAY = 3; // array, entry count in the next LENGTH bytes (0 = fixarray)
const MAP = 4; // map, entry count in the next LENGTH bytes (0 = fixmap)
const BAD = 5; // never valid for us

const CLASS = new Uint8Array(256);
const LENGTH = new Uint8Array(256);
function defineHeads(): void {
  CLASS.fill(BAD);
  const set = (from: number, to: number, kind: number, length: number): void => {
    for (let head = from; head <= to; head++) {
      CLASS[head] = kind;
      LENGTH[head] = length;
    }
  };
  set(0x00, 0x7f, FIXED, 0); // positive fixint
  set(0xe0, 0xff, FIXED, 0); // negative fixint
  set(0x80, 0x8f, MAP, 0);
  set(0x90, 0x9f, ARRAY, 0);
  set(0xa0, 0xbf, STR, 0);
  set(0xc0, 0xc0, FIXED, 0); // nil
  set(0xc2, 0xc3, FIXED, 0); // false, true
  set(0xc4, 0xc4, BIN, 1);
  set(0xc5, 0xc5, BIN, 2);
  set(0xc6, 0xc6, BIN, 4);
  set(0xca, 0xca, FIXED, 4); // float32
  set(0xcb, 0xcb, FIXED, 8); // float64
  set(0xcc, 0xcc, FIXED, 1);
  set(0xcd, 0xcd, FIXED, 2);
  set(0xce, 0xce, FIXED, 4);
  set(0xcf, 0xcf, FIXED, 8);
  set(0xd0, 0xd0, FIXED, 1);
  set(0xd1, 0xd1, FIXED, 2);
  set(0xd2, 0xd2, FIXED, 4);
  set(0xd3, 0xd3, FIXED, 8);
  set(0xd9, 0xd9, STR, 1);
  set(0xda, 0xda, STR, 2);
  set(0xdb, 0xdb, STR, 4);
  set(0xdc, 0xdc, ARRAY, 2);
  set(0xdd, 0xdd, ARRAY, 4);
  set(0xde, 0xde, MAP, 2);
  set(0xdf, 0xdf, MAP, 4);
}
defineHeads();

const PROTO_KEY = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"

function readLength(bytes: Uint8Array, offset: number, size: number): number {
  if (size === 1) return bytes[offset]!;
  if (size === 2) return (bytes[offset]! << 8) | bytes[offset + 1]!;
  return ((bytes[offset]! << 24) >>> 0) + ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!);
}

function isProtoKey(bytes: Uint8Array, offset: number, length: number): boolean {
  if (length !== PROTO_KEY.length) return false;
  for (let i = 0; i < length; i++) if (bytes[offset + i] !== PROTO_KEY[i]) return false;
  return true;
}

/**
 * Classifies a frame. On a WebSocket one frame is one message, so "incomplete" (a truncated
 * value) is as malformed as garbage: both return a reason.
 */
export function scanMessagePack(bytes: Uint8Array, limits: ScanLimits = DEFAULT_SCAN_LIMITS): ScanResult {
  // remaining[d]: values still expected at depth d. For maps, odd counts left mean "next is a value".
  const remaining = new Float64Array(limits.depthMax + 2);
  const isMap = new Uint8Array(limits.depthMax + 2);
  let depth = 0;
  remaining[0] = 1;
  let offset = 0;
  const end = bytes.length;
  while (depth >= 0) {
    if (remaining[depth] === 0) {
      depth -= 1;
      continue;
    }
    const expectKey = isMap[depth] === 1 && remaining[depth]! % 2 === 0;
    remaining[depth]! -= 1;
    if (offset >= end) return 'truncated: expected another value';
    const head = bytes[offset]!;
    offset += 1;
    const kind = CLASS[head]!;
    const size = LENGTH[head]!;
    if (kind === BAD) return head === 0xc1 ? 'byte 0xc1 is never used in MessagePack' : `extension type 0x${head.toString(16)} is not allowed`;
    if (expectKey && kind !== STR) return 'map keys must be strings';
    if (kind === FIXED) {
      if (offset + size > end) return 'truncated number';
      offset += size;
      continue;
    }
    if (offset + size > end) return 'truncated length';
    const count = size === 0 ? head & (kind === STR ? 0x1f : 0x0f) : readLength(bytes, offset, size);
    offset += size;
    if (kind === STR || kind === BIN) {
      if (kind === STR && count > limits.stringBytesMax) return `string of ${count} bytes exceeds ${limits.stringBytesMax}`;
      if (offset + count > end) return `truncated: ${count} bytes announced, ${end - offset} left`;
      if (expectKey && isProtoKey(bytes, offset, count)) return 'map key "__proto__" is not allowed';
      offset += count;
      continue;
    }
    if (count > limits.entriesMax) return `container of ${count} entries exceeds ${limits.entriesMax}`;
    const values = kind === MAP ? count * 2 : count;
    // Every value takes at least one byte, so a header announcing more than is left is truncated.
    if (values > end - offset) return `truncated: container announces ${count} entries`;
    if (depth + 1 > limits.depthMax) return `nesting deeper than ${limits.depthMax}`;
    depth += 1;
    remaining[depth] = values;
    isMap[depth] = kind === MAP ? 1 : 0;
  }
  if (offset !== end) return `${end - offset} trailing bytes after the value`;
  return undefined;
}

/**
 * Rewrites, in place, every float64 (0xcb) that holds a whole number of at most 2^53 - 1 in
 * magnitude as a uint64 (0xcf) or int64 (0xd3): the same 9 bytes, so nothing moves. msgpackr
 * encodes integers of 2^32 and more as float64; on our wire every such number is an integer
 * (times in ms, satoshis), and a client in another language must be able to read it as one.
 * For bytes our own encoder produced (one well-formed value).
 */
export function integersAsIntegers(bytes: Uint8Array): void {
  if (bytes.indexOf(0xcb) === -1) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  walkHeads(bytes, (head, offset) => {
    if (head !== 0xcb) return;
    const value = view.getFloat64(offset);
    if (Number.isInteger(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER) {
      bytes[offset - 1] = value >= 0 ? 0xcf : 0xd3;
      view.setBigInt64(offset, BigInt(value));
    }
  });
}

/** Whether one well-formed value holds a float64 (a 0xcb head, not merely a 0xcb byte in a payload). */
export function holdsFloat64(bytes: Uint8Array): boolean {
  let found = false;
  walkHeads(bytes, (head) => {
    found ||= head === 0xcb;
  });
  return found;
}

/**
 * Visits every head of one well-formed value our encoder wrote (`offset`: just after the head);
 * a linear walk, because a container's entries simply follow its head.
 */
function walkHeads(bytes: Uint8Array, visit: (head: number, offset: number) => void): void {
  let offset = 0;
  while (offset < bytes.length) {
    const head = bytes[offset]!;
    offset += 1;
    visit(head, offset);
    offset += payloadBytes(bytes, head, offset);
  }
}

/** Bytes after a head (its length field and payload; for containers, only the count field). */
function payloadBytes(bytes: Uint8Array, head: number, offset: number): number {
  const kind = CLASS[head]!;
  const size = LENGTH[head]!;
  if (kind === FIXED || kind === ARRAY || kind === MAP) return size;
  if (kind === STR || kind === BIN) return size + (size === 0 ? head & 0x1f : readLength(bytes, offset, size));
  // Extension types, which our encoder does not produce but a value might still hold.
  if (head >= 0xd4 && head <= 0xd8) return 1 + (1 << (head - 0xd4));
  if (head >= 0xc7 && head <= 0xc9) {
    const lengthBytes = 1 << (head - 0xc7);
    return lengthBytes + 1 + readLength(bytes, offset, lengthBytes);
  }
  throw new Error(`byte 0x${head.toString(16)} is not a MessagePack head our encoder writes`);
}
