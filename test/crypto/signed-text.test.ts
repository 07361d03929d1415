// Goal: the signed text is unambiguous (distinct messages never share a text), plain ASCII, and
// exactly the documented format. Method: examples checked byte for byte (identity-doc.test.ts
// checks the ones in docs/identity.md), and fast-check for injectivity over random field lists.
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
  fc.maxSafeInteger(),
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

/** Reads a signed text back, given each field's kind: what a verifier could rebuild. */
function parseBack(text: string, kinds: readonly SignedValue[]): Array<[string, SignedValue]> {
  const [head, ...lines] = text.split('\n');
  assert.equal(head, 'BITWRK/1 m');
  assert.equal(lines.length, kinds.length);
  return lines.map((line, index) => {
    const separator = line.indexOf('=');
    const [name, raw] = [line.slice(0, separator), line.slice(separator + 1)];
    const kind = kinds[index]!;
    if (typeof kind === 'string') {
      assert.match(raw, /^([A-Za-z0-9\-_.~:/@]|%[0-9A-F]{2})*$/);
      return [name, Buffer.from(raw.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8')];
    }
    if (typeof kind === 'boolean') return [name, raw === 'true'];
    if (kind instanceof Uint8Array) return [name, new Uint8Array(Buffer.from(raw, 'hex'))];
    assert.match(raw, /^(0|-?[1-9][0-9]*)$/, 'decimal, no plus, no leading zeros');
    return [name, Number(raw)];
  });
}

test('the text reads back to exactly its fields, in order (so it is injective per message type)', () => {
  const wellFormed = fc.uniqueArray(fc.tuple(key, fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.maxSafeInteger(), fc.boolean(), fc.uint8Array({ maxLength: 8 }))), { selector: ([name]) => name, maxLength: 6 });
  fc.assert(
    fc.property(wellFormed, (list) => {
      const parsed = parseBack(signedText('m', list), list.map(([, item]) => item));
      assert.deepEqual(parsed.map(([name]) => name), list.map(([name]) => name));
      parsed.forEach(([, item], index) => assert.ok(sameValue(item, list[index]![1]) || Object.is(item, 0), `${String(item)} vs ${String(list[index]![1])}`));
    }),
    { numRuns: 1000 },
  );
});

test('misuse is an assertion: bad type or key names, duplicates, numbers that are not finite', () => {
  assert.throws(() => signedText('Bad', []), /must match/);
  assert.throws(() => signedText('ok', [['Bad', 1]]), /must match/);
  assert.throws(() => signedText('ok', [['a', 1], ['a', 2]]), /appears twice/);
  assert.throws(() => signedText('ok', [['a', Number.NaN]]), /finite/);
  assert.throws(() => signedText('ok', [['a', Number.POSITIVE_INFINITY]]), /finite/);
  // A number that is not whole (only a malformed command has one) is still signable: shortest form.
  assert.equal(signedText('ok', [['a', 1.5]]), 'BITWRK/1 ok\na=1.5');
  assert.equal(signedText('ok', [['a', 2 ** 53]]), 'BITWRK/1 ok\na=9007199254740992');
  assert.throws(() => signedText(`a${'b'.repeat(64)}`, []), /must match/);
  assert.throws(() => signedText('ok', [['a', 'x\uD800']]), /lone surrogate/);
  assert.equal(signedText('ok', [['a', '\u{1F600}']]), 'BITWRK/1 ok\na=%F0%9F%98%80', 'a surrogate pair is one code point');
});
