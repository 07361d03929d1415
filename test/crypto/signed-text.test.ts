// Goal: the signed text is unambiguous (distinct messages never share a text), plain ASCII, and
// exactly the documented format. Method: a worked example from docs/protocol.md checked byte for
// byte, and fast-check for injectivity over random field lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { signedText, type SignedValue } from '../../src/crypto/signed-text.js';

test('the documented example renders byte for byte', () => {
  const text = signedText('bid.place', [
    ['exchange', 'bitwrk-main'],
    ['article', 'net.bitwrk/blender/0/3.4/512M'],
    ['side', 'buy'],
    ['price', 125000],
    ['address', '13mgtNQiU7gCWpfmypGfijyX9jzqpPr6co'],
    ['nonce', '1764040000000-9f86d081884c7d659a2feaa0c55ad015'],
  ]);
  assert.equal(
    text,
    'BITWRK/1 bid.place\nexchange=bitwrk-main\narticle=net.bitwrk/blender/0/3.4/512M\nside=buy\nprice=125000\n' +
      'address=13mgtNQiU7gCWpfmypGfijyX9jzqpPr6co\nnonce=1764040000000-9f86d081884c7d659a2feaa0c55ad015',
  );
  assert.equal(signedText('x', [['s', 'a b=c\n%é'], ['b', Uint8Array.of(0, 255)], ['t', true], ['n', -5]]), 'BITWRK/1 x\ns=a%20b%3Dc%0A%25%C3%A9\nb=00ff\nt=true\nn=-5');
});

const value: fc.Arbitrary<SignedValue> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: -1e15, max: 1e15 }),
  fc.boolean(),
  fc.uint8Array({ maxLength: 8 }),
);
const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/);
const fields = fc.uniqueArray(fc.tuple(key, value), { selector: ([name]) => name, maxLength: 5 });

function sameValue(a: SignedValue, b: SignedValue): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  // Values of different kinds may render alike (the string "12" and the number 12): the type of
  // each field is fixed by its message type, so only same-kind values need distinct texts.
  if (typeof a !== typeof b || a instanceof Uint8Array !== b instanceof Uint8Array) return true;
  return a === b;
}

test('distinct field lists of the same kinds give distinct texts, and every text is ASCII', () => {
  fc.assert(
    fc.property(fields, fields, (first, second) => {
      const textA = signedText('m', first);
      const textB = signedText('m', second);
      assert.match(textA, /^[\x20-\x7e\n]*$/);
      const equalLists = first.length === second.length && first.every(([name, item], index) => second[index]![0] === name && sameValue(item, second[index]![1]));
      if (!equalLists) {
        const sameKinds = first.length === second.length && first.every(([name, item], index) => second[index]![0] === name && typeof item === typeof second[index]![1] && item instanceof Uint8Array === second[index]![1] instanceof Uint8Array);
        if (sameKinds || first.length !== second.length) assert.notEqual(textA, textB);
      }
    }),
    { numRuns: 2000 },
  );
});

test('misuse is an assertion: bad type or key names, duplicates, non-integers', () => {
  assert.throws(() => signedText('Bad', []), /must match/);
  assert.throws(() => signedText('ok', [['Bad', 1]]), /must match/);
  assert.throws(() => signedText('ok', [['a', 1], ['a', 2]]), /appears twice/);
  assert.throws(() => signedText('ok', [['a', 1.5]]), /safe integer/);
});

test('the worked example in docs/protocol.md: digest and deterministic signature', async () => {
  const { decodeWif } = await import('../../src/crypto/keys.js');
  const { messageDigest, signMessage } = await import('../../src/crypto/signmessage.js');
  const { toHex } = await import('../../src/crypto/check.js');
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
  const { readFileSync } = await import('node:fs');
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
  assert.ok(doc.includes(text), 'the example text in the docs matches');
  const digest = toHex(messageDigest(text));
  const signature = signMessage(text, identity.privateKey);
  assert.ok(doc.includes(digest), 'the digest in the docs matches');
  assert.ok(doc.includes(signature), 'the signature in the docs matches');
});
