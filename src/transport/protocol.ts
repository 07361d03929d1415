// A protocol is declared once: the request types (each with a request and a response schema)
// and the push types. The schemas are the runtime check for untrusted input and, through
// z.input/z.output, the TypeScript types on both sides. Every message travels in an envelope.
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

export interface RequestDefinition {
  readonly request: z.ZodType;
  readonly response: z.ZodType;
}

export interface ProtocolDefinition {
  /** A name for logs and docs ("exchange", "cafs-sync"). */
  readonly name: string;
  readonly requests: Readonly<Record<string, RequestDefinition>>;
  readonly pushes: Readonly<Record<string, z.ZodType>>;
}

export function defineProtocol<const P extends ProtocolDefinition>(protocol: P): P {
  return protocol;
}

export type RequestType<P extends ProtocolDefinition> = keyof P['requests'] & string;
export type PushType<P extends ProtocolDefinition> = keyof P['pushes'] & string;
/** What a caller passes (schema input). */
export type RequestBody<P extends ProtocolDefinition, T extends RequestType<P>> = z.input<P['requests'][T]['request']>;
/** What a handler receives (schema output, after validation). */
export type ValidRequest<P extends ProtocolDefinition, T extends RequestType<P>> = z.output<P['requests'][T]['request']>;
export type ResponseBody<P extends ProtocolDefinition, T extends RequestType<P>> = z.output<P['requests'][T]['response']>;
export type PushBody<P extends ProtocolDefinition, T extends PushType<P>> = z.output<P['pushes'][T]>;

const messageId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const typeName = z.string().min(1).max(64);

/** The envelope every frame carries. `v` is checked before the rest (unsupported_version). */
export const envelopeSchema = z.discriminatedUnion('kind', [
  z.object({ v: z.literal(PROTOCOL_VERSION), kind: z.literal('request'), id: messageId, type: typeName, body: z.unknown() }),
  z.object({ v: z.literal(PROTOCOL_VERSION), kind: z.literal('response'), id: messageId, body: z.unknown() }),
  z.object({
    v: z.literal(PROTOCOL_VERSION),
    kind: z.literal('error'),
    id: messageId.nullable(),
    code: z.number().int(),
    name: z.string().max(64),
    message: z.string().max(1024),
    retryAfterMs: z.number().int().min(0).max(3_600_000).optional(),
  }),
  z.object({ v: z.literal(PROTOCOL_VERSION), kind: z.literal('push'), type: typeName, body: z.unknown() }),
]);

export type Envelope = z.output<typeof envelopeSchema>;

/** Reusable field schemas for message bodies. */
export const fields = {
  /** Raw bytes of an exact length (hashes, keys). MessagePack bin arrives as Uint8Array. */
  bytes: (length: number) =>
    z.instanceof(Uint8Array).refine((value) => value.byteLength === length, { message: `expected ${length} bytes` }),
  /** Raw bytes up to a maximum length. */
  bytesMax: (lengthMax: number) =>
    z.instanceof(Uint8Array).refine((value) => value.byteLength <= lengthMax, { message: `expected at most ${lengthMax} bytes` }),
  /** Whole satoshis or other counts. */
  integer: () => z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  nonNegativeInteger: () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
};
