// Request frames built around body bytes that were encoded once, so a resent command carries a
// byte-identical body whatever its new request id: {v, kind, id, type, body} as a 5-entry map.
import { encode } from '../../src/transport/codec.js';

const HEAD = new Uint8Array([0x85, 0xa1, 0x76, 0x01, 0xa4, ...ascii('kind'), 0xa7, ...ascii('request'), 0xa2, ...ascii('id')]);
const TYPE_KEY = new Uint8Array([0xa4, ...ascii('type')]);
const BODY_KEY = new Uint8Array([0xa4, ...ascii('body')]);

function ascii(text: string): number[] {
  return [...Buffer.from(text, 'latin1')];
}

/** A request envelope: the given id (any MessagePack value, to fuzz with), type and body bytes. */
export function requestFrame(id: number | Uint8Array, type: string, body: Uint8Array): Uint8Array {
  const idBytes = typeof id === 'number' ? encode(id) : id;
  const typeBytes = encode(type);
  const parts = [HEAD, idBytes, TYPE_KEY, typeBytes, BODY_KEY, body];
  const frame = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    frame.set(part, offset);
    offset += part.length;
  }
  return frame;
}
