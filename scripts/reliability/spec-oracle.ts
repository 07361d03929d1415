// What docs/protocol.md (§1-§3) says the exchange must do with one frame, written from the
// document alone (it shares no code with the server's decoder), so the fuzzer can compare the
// server with its specification: close the connection (and with which code), answer a request
// with its id, or stay silent. Where the document does not decide, the verdict is "ambiguous"
// and nothing is compared.
import { Packr } from 'msgpackr';

export const FRAME_BYTES_MAX = 1024 * 1024;
const DEPTH_MAX = 16;
const ENTRIES_MAX = 4096;
const STRING_BYTES_MAX = 65_536;

export type Verdict =
  | { readonly kind: 'close'; readonly closeCodes: readonly number[]; readonly errorCodes: readonly number[]; readonly why: string }
  | { readonly kind: 'answer'; readonly id: number }
  | { readonly kind: 'silent' }
  | { readonly kind: 'ambiguous'; readonly why: string };

const malformed = (why: string): Verdict => ({ kind: 'close', closeCodes: [4003], errorCodes: [1001], why });
const badEnvelope = (why: string): Verdict => ({ kind: 'close', closeCodes: [4003], errorCodes: [1004], why });

export function judgeFrame(frame: Uint8Array | string, binary: boolean): Verdict {
  if (!binary) return { kind: 'close', closeCodes: [4003], errorCodes: [], why: 'text frame (§1)' };
  const bytes = typeof frame === 'string' ? Buffer.from(frame) : frame;
  if (bytes.length > FRAME_BYTES_MAX) return { kind: 'close', closeCodes: [1009], errorCodes: [], why: 'over 1 MiB (§1)' };
  const problem = checkSubset(bytes);
  if (problem !== undefined) return malformed(problem);
  try {
    return judgeEnvelope(decoder.unpack(bytes) as unknown);
  } catch (error) {
    return { kind: 'ambiguous', why: `within the subset but not decodable here: ${(error as Error).message}` };
  }
}

// Decodes only what checkSubset accepted; 64-bit integers as bigints so none is silently rounded.
const decoder = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

/** §2: one value, no extension types, no 0xc1, string keys (not __proto__), depth, entries, string length. */
export function checkSubset(bytes: Uint8Array): string | undefined {
  const walker = { bytes, offset: 0 };
  const problem = checkValue(walker, 0, false);
  if (problem !== undefined) return problem;
  return walker.offset === bytes.length ? undefined : 'trailing bytes';
}

interface Walker {
  readonly bytes: Uint8Array;
  offset: number;
}

function readUint(walker: Walker, size: number): number | undefined {
  if (walker.offset + size > walker.bytes.length) return undefined;
  let value = 0;
  for (let index = 0; index < size; index++) value = value * 256 + walker.bytes[walker.offset + index]!;
  walker.offset += size;
  return value;
}

/** Checks one value at nesting `depth` (containers around it); `asKey`: it is a map key. */
function checkValue(walker: Walker, depth: number, asKey: boolean): string | undefined {
  if (walker.offset >= walker.bytes.length) return 'truncated';
  const head = walker.bytes[walker.offset++]!;
  const strLength = head >= 0xa0 && head <= 0xbf ? head & 0x1f : head === 0xd9 ? readUint(walker, 1) : head === 0xda ? readUint(walker, 2) : head === 0xdb ? readUint(walker, 4) : -1;
  if (strLength === undefined) return 'truncated string length';
  if (strLength >= 0) return checkString(walker, strLength, asKey);
  if (asKey) return 'map key is not a string';
  if (head === 0xc1) return 'byte 0xc1';
  if ((head >= 0xc7 && head <= 0xc9) || (head >= 0xd4 && head <= 0xd8)) return 'extension type';
  const fixedSizes: Record<number, number> = { 0xc0: 0, 0xc2: 0, 0xc3: 0, 0xca: 4, 0xcb: 8, 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8, 0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8 };
  if (head <= 0x7f || head >= 0xe0) return undefined;
  if (head in fixedSizes) return skip(walker, fixedSizes[head]!);
  if (head >= 0xc4 && head <= 0xc6) {
    const length = readUint(walker, 1 << (head - 0xc4));
    return length === undefined ? 'truncated bin length' : skip(walker, length);
  }
  const arrayCount = head >= 0x90 && head <= 0x9f ? head & 0x0f : head === 0xdc ? readUint(walker, 2) : head === 0xdd ? readUint(walker, 4) : -1;
  const mapCount = head >= 0x80 && head <= 0x8f ? head & 0x0f : head === 0xde ? readUint(walker, 2) : head === 0xdf ? readUint(walker, 4) : -1;
  if (arrayCount === undefined || mapCount === undefined) return 'truncated container length';
  return checkContainer(walker, depth + 1, arrayCount >= 0 ? arrayCount : mapCount, mapCount >= 0);
}

function checkString(walker: Walker, length: number, asKey: boolean): string | undefined {
  if (length > STRING_BYTES_MAX) return 'string over 65,536 bytes';
  if (walker.offset + length > walker.bytes.length) return 'truncated string';
  if (asKey && length === 9 && Buffer.from(walker.bytes.subarray(walker.offset, walker.offset + 9)).toString('latin1') === '__proto__') return 'key __proto__';
  walker.offset += length;
  return undefined;
}

function checkContainer(walker: Walker, depth: number, count: number, isMap: boolean): string | undefined {
  if (depth > DEPTH_MAX) return 'nesting over 16';
  if (count > ENTRIES_MAX) return 'over 4,096 entries';
  for (let index = 0; index < count; index++) {
    if (isMap) {
      const keyProblem = checkValue(walker, depth, true);
      if (keyProblem !== undefined) return keyProblem;
    }
    const problem = checkValue(walker, depth, false);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function skip(walker: Walker, size: number): string | undefined {
  if (walker.offset + size > walker.bytes.length) return 'truncated';
  walker.offset += size;
  return undefined;
}

/** §3: the version first, then one of the four shapes. */
function judgeEnvelope(value: unknown): Verdict {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    // "Every message is a map": a non-map has no `v` (1003) and is no envelope shape (1004).
    return { kind: 'close', closeCodes: [4003, 4005], errorCodes: [1003, 1004], why: 'not a map' };
  }
  const envelope = value as Record<string, unknown>;
  const version = asInteger(envelope['v']);
  if (version !== 1) return { kind: 'close', closeCodes: [4005], errorCodes: [1003], why: `v = ${String(envelope['v'])}` };
  // A whole-number float decodes like an integer here, as on the server: the document does not say.
  const id = asInteger(envelope['id']);
  const validId = id !== undefined && id >= 0 && id <= Number.MAX_SAFE_INTEGER;
  switch (envelope['kind']) {
    case 'request': {
      if (!validId) return badEnvelope('request id');
      const type = envelope['type'];
      if (typeof type !== 'string' || type.length === 0 || Buffer.byteLength(type) > 64) {
        return typeof type === 'string' && type.length > 0 && type.length <= 64 ? { kind: 'ambiguous', why: 'type of 1-64 characters but more bytes' } : badEnvelope('request type');
      }
      if (!('body' in envelope)) return { kind: 'ambiguous', why: 'request without body' };
      return { kind: 'answer', id: id! };
    }
    case 'response':
      if (!validId) return badEnvelope('response id');
      return 'body' in envelope ? { kind: 'silent' } : { kind: 'ambiguous', why: 'response without body' };
    case 'error': {
      const idOk = envelope['id'] === null || validId;
      const shapeOk = idOk && asInteger(envelope['code']) !== undefined && typeof envelope['name'] === 'string' && typeof envelope['message'] === 'string';
      if (!shapeOk) return badEnvelope('error shape');
      return { kind: 'ambiguous', why: 'error envelope (field sizes are not in the document)' };
    }
    case 'push': {
      const type = envelope['type'];
      if (typeof type !== 'string' || type.length === 0 || type.length > 64) return badEnvelope('push type');
      return 'body' in envelope ? { kind: 'silent' } : { kind: 'ambiguous', why: 'push without body' };
    }
    default:
      return badEnvelope('kind');
  }
}

/** An integer value (any MessagePack integer representation), else undefined. */
function asInteger(value: unknown): number | undefined {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) return undefined;
  return value;
}
