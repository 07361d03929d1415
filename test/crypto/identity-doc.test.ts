// Goal: docs/identity.md, which client writers in other languages implement from, stays true to
// the code: the worked example (text, hashed bytes, digest, signature) and the value example are
// what the code produces, and the Python reference in the doc signs exactly as we do. Method:
// render the examples here and look for them verbatim in the doc; run the doc's Python block
// (skipped where python3 or its RIPEMD-160 is missing) against the worked example and Bitcoin
// Core's RFC 6979 vector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeWif } from '../../src/crypto/keys.js';
import { signedText } from '../../src/crypto/signed-text.js';
import { messageDigest, signMessage } from '../../src/crypto/signmessage.js';
import { hash160 } from '../../src/crypto/hash.js';
import { toHex } from '../../src/crypto/check.js';
import vectors from '../vectors/signmessage.json' with { type: 'json' };

const doc = readFileSync(new URL('../../docs/identity.md', import.meta.url), 'utf8');
const WIF = 'L3p8oAcQTtuokSCRHQ7i4MhjWc9zornvpJLfmg62sYpLRJF9woSu';
const NONCE = '1764040000000-9f86d081884c7d659a2feaa0c55ad015';

function workedExample(): { text: string; privateKey: Uint8Array; publicKey: Uint8Array; address: string } {
  const identity = decodeWif(WIF, 'mainnet');
  if (typeof identity === 'string') assert.fail(identity);
  const text = signedText('bid.place', [
    ['exchange', 'bitwrk-main'],
    ['article', 'net.bitwrk/blender/0/3.4/512M'],
    ['side', 'buy'],
    ['price', 125000],
    ['address', identity.address],
    ['nonce', NONCE],
  ]);
  return { text, ...identity };
}

/** The doc's dump layout: offset, 16 hex bytes, ASCII with '.' for the rest. */
function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = [...bytes.subarray(offset, offset + 16)];
    const hex = row.map((byte) => byte.toString(16).padStart(2, '0')).join(' ').padEnd(47);
    const ascii = row.map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(4, '0')}  ${hex}   ${ascii}`.trimEnd());
  }
  return lines.join('\n');
}

test('the worked example in docs/identity.md is what the code produces, byte for byte', () => {
  const { text, privateKey, publicKey, address } = workedExample();
  const bytes = new TextEncoder().encode(text);
  const hashed = new Uint8Array([0x18, ...new TextEncoder().encode('Bitcoin Signed Message:\n'), bytes.length, ...bytes]);
  assert.equal(bytes.length, 195);
  assert.equal(address, '1C7zdTfnkzmr13HfA2vNm5SJYRK6nEKyq8');
  assert.ok(doc.includes(`\`\`\`\n${text}\n\`\`\``), 'the signed text');
  const docDump = doc.split('\n').map((line) => line.trimEnd()).join('\n');
  assert.ok(docDump.includes(hexDump(hashed)), `the hashed bytes:\n${hexDump(hashed)}`);
  const signature = Buffer.from(signMessage(text, privateKey), 'base64');
  for (const [what, value] of [
    ['private key', toHex(privateKey)],
    ['public key', toHex(publicKey)],
    ['HASH160', toHex(hash160(publicKey))],
    ['first SHA256', createHash('sha256').update(hashed).digest('hex')],
    ['digest', toHex(messageDigest(text))],
    ['header', `header \`${signature[0]}\``],
    ['r', toHex(signature.subarray(1, 33))],
    ['s', toHex(signature.subarray(33))],
    ['base64', signature.toString('base64')],
  ] as const) {
    assert.ok(doc.includes(value), `${what} ${value}`);
  }
});

test('the value example in docs/identity.md renders as shown', () => {
  const text = signedText('profile.set', [['name', 'Zoë & co'], ['max_price', -5], ['hash', Uint8Array.of(0xde, 0xad, 0xbe, 0xef)], ['public', true]]);
  assert.ok(doc.includes(`\`\`\`\n${text}\n\`\`\``), text);
});

test('the Python reference in docs/identity.md signs exactly as we do', (t) => {
  const python = doc.match(/```python\n([\s\S]*?)```/)?.[1];
  assert.ok(python !== undefined, 'the doc has a Python block');
  const { text } = workedExample();
  const core = vectors.deterministic[0]!;
  const script = `${python}
import json, sys
secret, compressed = decode_wif(${JSON.stringify(WIF)})
core_secret, core_compressed = decode_wif(${JSON.stringify(core.wif)})
print(json.dumps({
  'address': address(secret, compressed),
  'text': signed_text('bid.place', [('exchange', 'bitwrk-main'), ('article', 'net.bitwrk/blender/0/3.4/512M'), ('side', 'buy'), ('price', 125000), ('address', address(secret, compressed)), ('nonce', ${JSON.stringify(NONCE)})]),
  'values': signed_text('profile.set', [('name', 'Zo\\u00eb & co'), ('max_price', -5), ('hash', bytes.fromhex('deadbeef')), ('public', True)]),
  'signature': sign_message(${JSON.stringify(text)}, secret, compressed),
  'core': sign_message(${JSON.stringify(core.message)}, core_secret, core_compressed),
  'core_address': address(core_secret, core_compressed, testnet=True),
  'nonce': make_nonce(),
}))
`;
  const run = spawnSync('python3', ['-c', script], { encoding: 'utf8', timeout: 60_000 });
  if (run.error !== undefined || /unsupported hash type ripemd160/i.test(run.stderr)) {
    t.skip(`python3 with RIPEMD-160 is not available here: ${run.error?.message ?? run.stderr.trim().split('\n').pop()}`);
    return;
  }
  assert.equal(run.status, 0, run.stderr);
  const answer = JSON.parse(run.stdout) as Record<string, string>;
  const identity = workedExample();
  assert.equal(answer['address'], identity.address);
  assert.equal(answer['text'], text);
  assert.equal(answer['values'], signedText('profile.set', [['name', 'Zoë & co'], ['max_price', -5], ['hash', Uint8Array.of(0xde, 0xad, 0xbe, 0xef)], ['public', true]]));
  assert.equal(answer['signature'], signMessage(text, identity.privateKey));
  assert.equal(answer['core'], core.signature);
  assert.equal(answer['core_address'], 'mpLQjfK79b7CCV4VMJWEWAj5Mpx8Up5zxB');
  assert.match(answer['nonce']!, /^\d{13}-[0-9a-f]{32}$/);
});
