// Walks MessagePack bytes without decoding them, to enforce our limits before msgpackr sees
// the data: msgpackr has no strict mode and recurses on nesting. The walk is iterative, reads
// each header once and allocates nothing, so any input finishes in time linear in its length.
// Rejected outright: extension types (we use none), the never-used byte 0xC1, non-string map
// keys and the key "__proto__" (which a plain-object decoder could turn into a prototype).
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

const PROTO_KEY = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"

/**
 * Classifies a frame. On a WebSocket one frame is one message, so "incomplete" (a truncated
 * value) is as malformed as garbage: both return a reason.
 */
export function scanMessagePack(bytes: Uint8Array, limits: ScanLimits = DEFAULT_SCAN_LIMITS): ScanResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // remaining[d] = values still expected at depth d; keyNext[d] = next value at depth d is a map key.
  const remaining: number[] = [1];
  const isMap: boolean[] = [false];
  const keyNext: boolean[] = [false];
  let offset = 0;
  while (remaining.length > 0) {
    const depth = remaining.length - 1;
    if (remaining[depth] === 0) {
      remaining.pop();
      isMap.pop();
      keyNext.pop();
      continue;
    }
    remaining[depth]! -= 1;
    const expectKey = isMap[depth] === true && keyNext[depth] === true;
    if (isMap[depth] === true) keyNext[depth] = !keyNext[depth];
    if (offset >= bytes.length) return 'truncated: expected another value';
    const head = bytes[offset]!;
    offset += 1;
    let containerEntries = -1;
    let containerIsMap = false;
    let payloadBytes = 0;
    let isString = false;
    const need = (count: number): boolean => offset + count <= bytes.length;
    if (head <= 0x7f || head >= 0xe0) {
      payloadBytes = 0; // fixint
    } else if (head >= 0x80 && head <= 0x8f) {
      containerEntries = head & 0x0f;
      containerIsMap = true;
    } else if (head >= 0x90 && head <= 0x9f) {
      containerEntries = head & 0x0f;
    } else if (head >= 0xa0 && head <= 0xbf) {
      payloadBytes = head & 0x1f;
      isString = true;
    } else {
      switch (head) {
        case 0xc0: case 0xc2: case 0xc3: break; // nil, false, true
        case 0xc1: return 'byte 0xc1 is never used in MessagePack';
        case 0xc4: case 0xd9:
          if (!need(1)) return 'truncated length';
          payloadBytes = bytes[offset]!; offset += 1; isString = head === 0xd9; break;
        case 0xc5: case 0xda:
          if (!need(2)) return 'truncated length';
          payloadBytes = view.getUint16(offset); offset += 2; isString = head === 0xda; break;
        case 0xc6: case 0xdb:
          if (!need(4)) return 'truncated length';
          payloadBytes = view.getUint32(offset); offset += 4; isString = head === 0xdb; break;
        case 0xca: payloadBytes = 4; break;
        case 0xcb: payloadBytes = 8; break;
        case 0xcc: case 0xd0: payloadBytes = 1; break;
        case 0xcd: case 0xd1: payloadBytes = 2; break;
        case 0xce: case 0xd2: payloadBytes = 4; break;
        case 0xcf: case 0xd3: payloadBytes = 8; break;
        case 0xdc: case 0xde:
          if (!need(2)) return 'truncated length';
          containerEntries = view.getUint16(offset); offset += 2; containerIsMap = head === 0xde; break;
        case 0xdd: case 0xdf:
          if (!need(4)) return 'truncated length';
          containerEntries = view.getUint32(offset); offset += 4; containerIsMap = head === 0xdf; break;
        default:
          return `extension type 0x${head.toString(16)} is not allowed`;
      }
    }
    if (expectKey && !isString) return 'map keys must be strings';
    if (isString && payloadBytes > limits.stringBytesMax) return `string of ${payloadBytes} bytes exceeds ${limits.stringBytesMax}`;
    if (!need(payloadBytes)) return `truncated: ${payloadBytes} bytes announced, ${bytes.length - offset} left`;
    if (expectKey && payloadBytes === PROTO_KEY.length && PROTO_KEY.every((b, i) => bytes[offset + i] === b)) {
      return 'map key "__proto__" is not allowed';
    }
    offset += payloadBytes;
    if (containerEntries >= 0) {
      if (containerEntries > limits.entriesMax) return `container of ${containerEntries} entries exceeds ${limits.entriesMax}`;
      // Every entry takes at least one byte, so a header announcing more than is left is truncated.
      const values = containerIsMap ? containerEntries * 2 : containerEntries;
      if (values > bytes.length - offset) return `truncated: container announces ${containerEntries} entries`;
      if (remaining.length > limits.depthMax) return `nesting deeper than ${limits.depthMax}`;
      remaining.push(values);
      isMap.push(containerIsMap);
      keyNext.push(true);
    }
  }
  if (offset !== bytes.length) return `${bytes.length - offset} trailing bytes after the value`;
  return undefined;
}
