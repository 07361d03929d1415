// Goal: the worked signing example in docs/protocol.md §8 stays true (text, digest, signature),
// so a client written from the docs signs exactly as we do. Method: rebuild it and search the doc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeWif } from '../src/crypto/keys.js';
import { messageDigest, signMessage } from '../src/crypto/signmessage.js';
import { signedText } from '../src/crypto/signed-text.js';
import { toHex } from '../src/crypto/check.js';

test('the worked example in docs/protocol.md: text, digest and deterministic signature', () => {
  const identity = decodeWif('L3p8oAcQTtuokSCRHQ7i4MhjWc9zornvpJLfmg62sYpLRJF9woSu', 'mainnet');
  assert.notEqual(typeof identity, 'string');
  if (typeof identity === 'string') return;
  const text = signedText('bid.place', [
    ['exchange', 'bitwrk-main'],
    ['article', 'net.bitwrk/blender/0/3.4/512M'],
    ['side', 'buy'],
    ['price', 125000],
    ['address', identity.address],
    ['nonce', '1764040000000-9f86d081884c7d659a2feaa0c55ad015'],
  ]);
  const doc = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');
  assert.ok(doc.includes(text), 'the example text');
  assert.ok(doc.includes(toHex(messageDigest(text))), 'the digest');
  assert.ok(doc.includes(signMessage(text, identity.privateKey)), 'the signature');
});
