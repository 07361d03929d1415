// Goal: error codes are unique, sit in their subsystem's range, and every one is documented in
// docs/protocol.md with its name, so the wire, the logs and the docs agree. Method: read the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS, ProtocolError } from '../../src/transport/errors.js';
import { REJECTIONS } from '../../src/market/rejections.js';

// The wire's error table: transport and identity errors plus the market core's rejections.
const WIRE_ERRORS = { ...ERRORS, ...REJECTIONS };

test('error codes are unique and in the documented ranges', () => {
  assert.equal(Object.keys(WIRE_ERRORS).length, Object.keys(ERRORS).length + Object.keys(REJECTIONS).length, 'a name is used twice');
  const codes = Object.values(WIRE_ERRORS).map((entry) => entry.code);
  assert.equal(new Set(codes).size, codes.length, 'a code is used twice');
  for (const code of codes) assert.ok(code >= 1000 && code <= 9999, `code ${code} outside 1000-9999`);
});

test('every error code is documented in docs/protocol.md with its name', () => {
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
  for (const [name, entry] of Object.entries(WIRE_ERRORS)) {
    assert.match(doc, new RegExp(`\\|\\s*${entry.code}\\s*\\|\\s*${name}\\s*\\|`), `${entry.code} ${name} missing from docs/protocol.md`);
  }
});

test('ProtocolError.of carries the stable code and appends detail to the message', () => {
  const error = ProtocolError.of('nonce_reused', 'nonce abc');
  assert.equal(error.code, 2006);
  assert.equal(error.errorName, 'nonce_reused');
  assert.equal(error.message, 'the nonce was already used: nonce abc');
});
