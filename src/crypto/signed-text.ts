// The exact text that is signed for a message, defined once. Readable in any wallet that shows a
// message before signing it, and unambiguous: one line per field, in the order the message type
// declares, with values escaped so that no value can contain a line break or an '='.
//
//   BITWRK/1 <type>
//   <key>=<value>
//   ...
//
// Values: integers in decimal; bytes in lowercase hex; booleans as true/false; strings as UTF-8
// with every byte outside [A-Za-z0-9-_.~:/@] written %XX (upper-case hex). No trailing newline.
import { assert } from '../assert.js';
import { toHex } from './check.js';

export type SignedValue = string | number | boolean | Uint8Array;
export type SignedFields = ReadonlyArray<readonly [string, SignedValue]>;

export const SIGNED_TEXT_PREFIX = 'BITWRK/1';
const TYPE_PATTERN = /^[a-z][a-z0-9_.]{0,63}$/;
const KEY_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
const SAFE_BYTES = new Uint8Array(256);
for (const character of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~:/@') {
  SAFE_BYTES[character.charCodeAt(0)] = 1;
}

const utf8 = new TextEncoder();

export function escapeValue(text: string): string {
  let escaped = '';
  for (const byte of utf8.encode(text)) {
    escaped += SAFE_BYTES[byte] === 1 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return escaped;
}

function renderValue(value: SignedValue, key: string): string {
  if (typeof value === 'string') {
    // A lone surrogate would be encoded as U+FFFD: two different strings, one text.
    assert(!/\p{Surrogate}/u.test(value), `signed field "${key}" must be well-formed Unicode (it has a lone surrogate)`);
    return escapeValue(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Uint8Array) return toHex(value);
  assert(Number.isFinite(value), `signed field "${key}" must be a finite number, got ${value}`);
  // Amounts are whole numbers; another number is written in its shortest round-trip form (as
  // ECMAScript's Number.prototype.toString does: 1.5, 1e+21) so a malformed command can still be
  // signed and verified, and then refused for its value with its own code (3011, 5001).
  return String(value);
}

/** Renders the text to sign for a message of `type` with `fields` in their declared order. */
export function signedText(type: string, fields: SignedFields): string {
  assert(TYPE_PATTERN.test(type), `signed message type "${type}" must match ${TYPE_PATTERN}`);
  const seen = new Set<string>();
  const lines = [`${SIGNED_TEXT_PREFIX} ${type}`];
  for (const [key, value] of fields) {
    assert(KEY_PATTERN.test(key), `signed field name "${key}" must match ${KEY_PATTERN}`);
    assert(!seen.has(key), `signed field "${key}" appears twice`);
    seen.add(key);
    lines.push(`${key}=${renderValue(value, key)}`);
  }
  return lines.join('\n');
}
