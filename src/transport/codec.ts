// The codec for untrusted input: size limit, structural scan, msgpackr decode in try/catch,
// then a schema check. Returns a value or a ProtocolError; never throws on bad input.
import { Packr } from 'msgpackr';
import type { z } from 'zod';
import { FRAME_BYTES_MAX } from '../limits.js';
import { ProtocolError } from './errors.js';
import { DEFAULT_SCAN_LIMITS, integersAsIntegers, scanMessagePack, type ScanLimits } from './msgpack-scan.js';

// Options spelled out at the call site (TigerStyle): plain MessagePack any language can read.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  encodeUndefinedAsNil: true,
  // int 64 / uint 64 decode to numbers up to 2^53 and to bigints beyond, which no schema accepts
  // (the RPC layer answers those with integer_out_of_range, 1014).
  int64AsType: 'auto' as 'bigint', // 'auto' is in msgpackr 2.x but not in its type declarations
  variableMapSize: true,
});

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

/** Encodes a value; whole numbers of 2^32 and more go out as int 64 / uint 64, never as floats. */
export function encode(value: unknown): Uint8Array {
  const bytes = packr.pack(value);
  integersAsIntegers(bytes);
  return bytes;
}

/** Decodes one frame into plain data, checking limits first. The value is not yet validated. */
export function decodeUntrusted(
  frame: Uint8Array,
  options: { frameBytesMax?: number; scanLimits?: ScanLimits } = {},
): DecodeResult<unknown> {
  const frameBytesMax = options.frameBytesMax ?? FRAME_BYTES_MAX;
  if (frame.byteLength > frameBytesMax) {
    return { ok: false, error: ProtocolError.of('frame_too_large', `${frame.byteLength} > ${frameBytesMax} bytes`) };
  }
  const problem = scanMessagePack(frame, options.scanLimits ?? DEFAULT_SCAN_LIMITS);
  if (problem !== undefined) return { ok: false, error: ProtocolError.of('malformed_frame', problem) };
  try {
    return { ok: true, value: packr.unpack(frame) };
  } catch (error) {
    return { ok: false, error: ProtocolError.of('malformed_frame', (error as Error).message) };
  }
}

/** Decodes and validates a frame against a schema. */
export function decodeWith<S extends z.ZodType>(schema: S, frame: Uint8Array): DecodeResult<z.output<S>> {
  const decoded = decodeUntrusted(frame);
  if (!decoded.ok) return decoded;
  return validate(schema, decoded.value, 'invalid_body');
}

/** Validates a decoded value, turning a schema failure into a readable ProtocolError. */
export function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
  errorName: 'invalid_body' | 'invalid_envelope' | 'invalid_response',
): DecodeResult<z.output<S>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: ProtocolError.of(errorName, describeIssues(parsed.error)) };
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
