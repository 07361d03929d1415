// Goal: a withdrawal goes only to a valid address of the exchange's network whose output type we
// pay to, never below that type's dust, and no input string makes the check throw. Method: the
// published vectors, copied verbatim: BIP173 and BIP350 (bitcoin/bips at commit
// 7fe0b034ec967b52a5a28276419117326df93263, bip-0173.mediawiki and bip-0350.mediawiki, sections
// "Test vectors"), BIP173's valid v1+ vectors as BIP350 reclassified them (invalid: bech32 where
// bech32m is due), and Bitcoin Core's src/test/data/key_io_valid.json (bitcoin/bitcoin at commit
// 1010c48a89a8316298edeee28ffb5aef89bdf667) for base58 P2PKH/P2SH and bcrt1 addresses, whose
// scripts bitcoinjs-lib's decoder also confirms.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { address as bitcoinAddress, networks } from 'bitcoinjs-lib';
import { hex } from '@scure/base';
import type { NetworkName } from '../../src/crypto/networks.js';
import { checkWithdrawalAmount, decodeBitcoinAddress, dustLimitSats, parseWithdrawalAddress, type WithdrawalAddressProblem, type WithdrawalAddressType, type WithdrawalDestination } from '../../src/chain/withdrawal-address.js';

const NETWORKS: readonly NetworkName[] = ['mainnet', 'testnet', 'regtest'];
const HRP_NETWORK: Readonly<Record<string, NetworkName>> = { bc: 'mainnet', tb: 'testnet', bcrt: 'regtest' };

type Expected = WithdrawalAddressType | 'unsupported';

/** BIP350 "Test vectors for v0-v16 native segregated witness addresses", valid list: address, scriptPubKey, what we make of it. */
const BIP350_VALID: ReadonlyArray<readonly [string, string, Expected]> = [
  ['BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', '0014751e76e8199196d454941c45d1b3a323f1433bd6', 'p2wpkh'],
  ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262', 'p2wsh'],
  // Witness v1 with a 40-byte program: a valid address, but not taproot (32 bytes): refused by policy.
  ['bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y', '5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6', 'unsupported'],
  ['BC1SW50QGDZ25J', '6002751e', 'unsupported'],
  ['bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs', '5210751e76e8199196d454941c45d1b3a323', 'unsupported'],
  ['tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy', '0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433', 'p2wsh'],
  ['tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c', '5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433', 'p2tr'],
  ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', '512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798', 'p2tr'],
];

/** BIP173's valid segwit list; the three v1+ ones are bech32, which BIP350 made invalid for v1+. */
const BIP173_VALID_STILL: ReadonlyArray<readonly [string, string, Expected]> = [
  ['BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', '0014751e76e8199196d454941c45d1b3a323f1433bd6', 'p2wpkh'],
  ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262', 'p2wsh'],
  ['tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy', '0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433', 'p2wsh'],
];
const BIP173_VALID_RECLASSIFIED: readonly string[] = [
  'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx',
  'BC1SW50QA3JX3S',
  'bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj',
];

/** What a refusal's message must mention, per the vectors' stated reason. */
const REASON = {
  hrp: /unknown prefix/,
  checksum: /checksum does not match/,
  bech32NotBech32m: /must use the bech32m checksum/,
  bech32mNotBech32: /must use the bech32 checksum/,
  character: /character/,
  version: /witness version \d+ does not exist/,
  length: /witness program of \d+ bytes? \(2\.\.40\)/,
  v0length: /v0 program of \d+ bytes/,
  mixedCase: /mixes upper and lower case/,
  padding: /padding/,
  empty: /no witness version/,
} as const;

/** BIP173 invalid segwit addresses, with their reasons. */
const BIP173_INVALID: ReadonlyArray<readonly [string, RegExp]> = [
  ['tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty', REASON.hrp], // Invalid human-readable part
  ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5', REASON.checksum], // Invalid checksum
  ['BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2', REASON.version], // Invalid witness version
  ['bc1rw5uspcuh', REASON.length], // Invalid program length
  ['bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90', REASON.length], // Invalid program length
  ['BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P', REASON.v0length], // Invalid program length for witness version 0 (per BIP141)
  ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7', REASON.mixedCase], // Mixed case
  ['bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du', REASON.padding], // zero padding of more than 4 bits
  ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv', REASON.padding], // Non-zero padding in 8-to-5 conversion
  ['bc1gmk9yu', REASON.empty], // Empty data section
];

/** BIP350 invalid segwit addresses, with their reasons. */
const BIP350_INVALID: ReadonlyArray<readonly [string, RegExp]> = [
  ['tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut', REASON.hrp], // Invalid human-readable part
  ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd', REASON.bech32NotBech32m], // Invalid checksum (Bech32 instead of Bech32m)
  ['tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf', REASON.bech32NotBech32m], // Invalid checksum (Bech32 instead of Bech32m)
  ['BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL', REASON.bech32NotBech32m], // Invalid checksum (Bech32 instead of Bech32m)
  ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh', REASON.bech32mNotBech32], // Invalid checksum (Bech32m instead of Bech32)
  ['tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47', REASON.bech32mNotBech32], // Invalid checksum (Bech32m instead of Bech32)
  ['bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4', REASON.character], // Invalid character in checksum
  ['BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R', REASON.version], // Invalid witness version
  ['bc1pw5dgrnzv', REASON.length], // Invalid program length (1 byte)
  ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav', REASON.length], // Invalid program length (41 bytes)
  ['BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P', REASON.v0length], // Invalid program length for witness version 0 (per BIP141)
  ['tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq', REASON.mixedCase], // Mixed case
  ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf', REASON.padding], // zero padding of more than 4 bits
  ['tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j', REASON.padding], // Non-zero padding in 8-to-5 conversion
  ['bc1gmk9yu', REASON.empty], // Empty data section
];

/** The BIPs' plain Bech32/Bech32m strings, valid and invalid: none is an address. */
const BECH32_STRINGS_NOT_ADDRESSES: readonly string[] = [
  // BIP173, valid Bech32
  'A12UEL5L', 'a12uel5l', 'an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs',
  'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw', '11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j',
  'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w', '?1ezyfcl',
  // BIP173, invalid Bech32
  '\x201nwldj5', '\x7f1axkwrx', '\x801eym55h', 'an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx',
  'pzry9x0s0muk', '1pzry9x0s0muk', 'x1b4n0q5v', 'li1dgmt3', 'de1lg7wt\xff', 'A1G7SGD8', '10a06t8', '1qzzfhee',
  // BIP350, valid Bech32m
  'A1LQFN3A', 'a1lqfn3a', 'an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6',
  'abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx', '11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8',
  'split1checkupstagehandshakeupstreamerranterredcaperredlc445v', '?1v759aa',
  // BIP350, invalid Bech32m
  '\x201xj0phk', '\x7f1g6xzxy', '\x801vctc34', 'an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4',
  'qyrz8wqd2c9m', '1qyrz8wqd2c9m', 'y1b0jsk6g', 'lt1igcx5c0', 'in1muywd', 'mm1crxm3i', 'au1s5cgom', 'M1VUXWEZ', '16plkw9', '1p2gdwpf',
];

/** Bitcoin Core key_io_valid.json: base58 addresses and bcrt1 ones, with their scripts; testnet4 and signet are our testnet. */
const CORE_VALID: ReadonlyArray<readonly [string, string, 'main' | 'testnet4' | 'signet' | 'regtest', Expected]> = [
  ['1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo', '76a914a31c06bd463e3923bc1aadbde48b16976c08071788ac', 'main', 'p2pkh'],
  ['36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm', 'a914373b819a068f32b7a6b38b6b38729647cfde01c287', 'main', 'p2sh'],
  ['mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ', '76a914ce28b26c57472737f5c3561a1761185bd8589a4388ac', 'testnet4', 'p2pkh'],
  ['2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK', 'a914ce0bba75891ff9ec60148d4bd4a09ee2dc5c933187', 'testnet4', 'p2sh'],
  ['mww4LvqtTMKvmeQvizPz2EQv26xTneWrbg', '76a914b4110ba93ac54afc14da3bdd19614774a2d55d2988ac', 'signet', 'p2pkh'],
  ['2N1r7aC69VHeE7yQJPDLi9T1PYq4wnwvjuT', 'a9145e5a35ab44b3efaea5129ba22b88ba3e2976614587', 'signet', 'p2sh'],
  ['n4fajahJrAuKbN7uNsKjLjQkz9Qn5ewJXQ', '76a914fdeca3b08e38af53d7c4c60e3ad208ce5066441088ac', 'regtest', 'p2pkh'],
  ['2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA', 'a91436e9f191e0b75036a77f65e2eaa4752443233fbe87', 'regtest', 'p2sh'],
  ['1FjL87pn8ky6Vbavd1ZHeChRXtoxwRGCRd', '76a914a19331b7b2627e663e25a7b001e4c0dcc5e21bc788ac', 'main', 'p2pkh'],
  ['3BZECeAH8gSKkjrTx8PwMrNQBLG18yHpvf', 'a9146c382dcdf5b284760c8e3fead91f7422cd76aa8787', 'main', 'p2sh'],
  ['n4YNbYuFdPwFrxSP8sjHFbAhUbLMUiY9jE', '76a914fc8f9851f3c1e4719cd0b8e4816dd4e88c72e52888ac', 'testnet4', 'p2pkh'],
  ['2NAeQVZayzVFAtgeC3iYJsjpjWDmsDph71A', 'a914bedc797342c03fd7a346c4c7857ca03d467013b687', 'testnet4', 'p2sh'],
  ['mfhE6jAUwjUDNZhaX1PAsDTKfneQF2Nshc', '76a91401f15a4cc063dae4f4d56b89bfbc8bcc9ae5387c88ac', 'regtest', 'p2pkh'],
  ['2MxNm1VHyVU4RuP3u1c1v5aQLk2dQjwy1Qk', 'a91438456f7c076356abadcc67b92ad777eb20fb9f8887', 'regtest', 'p2sh'],
  ['bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv', '00146100fc6343edc8c874496cb2f5bbfec88ea9b77c', 'main', 'p2wpkh'],
  ['bc1z2rksukkjr8', '520250ed', 'main', 'unsupported'],
  ['tb1rgv5m6uvdk3kc7qsuz0c79v88ycr5w4wa', '53104329bd718db46d8f021c13f1e2b0e726', 'testnet4', 'unsupported'],
  ['bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9', '00146f58bac9506f9bfb821d62e69330410bb56f0085', 'regtest', 'p2wpkh'],
  ['bcrt1qan8gntac7z7me2ejt4hpru42ad2f759fmy0m3ejvs98656znv7eqga4uhv', '0020ecce89afb8f0bdbcab325d6e11f2aaeb549f50a9d91fb8e64c814faa685367b2', 'regtest', 'p2wsh'],
  ['bcrt1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkq3553uh', '51204b8d20316baaf061adbfe72c9d914d678cd5004d49356ec9949ba752777171ac', 'regtest', 'p2tr'],
  ['bcrt1sx6p8njlx7h9mc2agz4yg82dzne23050ncq72cneeecez2pst8mahn8xecsf8g6hzx94420', '6028368279cbe6f5cbbc2ba8154883a9a29e5517d1f3c03cac4f39ce3225060b3efb799cd9c412746ae2', 'regtest', 'unsupported'],
];

/** A refusal: the problem, and a short message that does not repeat the input. */
function assertRefused(text: string, network: NetworkName, problem: WithdrawalAddressProblem, reason?: RegExp): void {
  const result = parseWithdrawalAddress(text, network);
  const label = `${JSON.stringify(text.slice(0, 120))} on ${network}`;
  assert.equal(result.ok, false, `${label} should be refused`);
  if (result.ok) return;
  assert.equal(result.problem, problem, `${label}: ${result.detail}`);
  assert.ok(result.detail.length > 0 && result.detail.length <= 200, `${label}: detail of ${result.detail.length} chars`);
  if (text.length > 20) assert.ok(!result.detail.includes(text.slice(0, 20)), `${label}: the detail repeats the input: ${result.detail}`);
  if (reason !== undefined) assert.match(result.detail, reason, label);
}

function assertAccepted(text: string, network: NetworkName, type: WithdrawalAddressType, scriptHex: string): WithdrawalDestination {
  const result = parseWithdrawalAddress(text, network);
  assert.ok(result.ok, `${text} on ${network}: ${result.ok ? '' : `${result.problem}: ${result.detail}`}`);
  const destination = result.destination;
  assert.equal(destination.type, type, text);
  assert.equal(hex.encode(destination.script), scriptHex, text);
  assert.equal(destination.dustSats, dustLimitSats(type), text);
  // Bech32 normalised to lower case; base58 (case-sensitive) exactly as given.
  assert.equal(destination.address, /^(bc|tb|bcrt)1/i.test(text) ? text.toLowerCase() : text, text);
  // An independent decoder agrees (bitcoinjs-lib builds a taproot script only with an ECC library: its witness program then).
  if (type === 'p2tr') {
    const { version, prefix, data } = bitcoinAddress.fromBech32(destination.address);
    assert.equal(HRP_NETWORK[prefix], network, text);
    assert.equal(`${version}:${hex.encode(data)}`, `1:${scriptHex.slice(4)}`, `bitcoinjs-lib on ${text}`);
  } else {
    const bitcoinjsNetwork = network === 'mainnet' ? networks.bitcoin : network === 'testnet' ? networks.testnet : networks.regtest;
    assert.equal(hex.encode(bitcoinAddress.toOutputScript(destination.address, bitcoinjsNetwork)), scriptHex, `bitcoinjs-lib on ${text}`);
  }
  return destination;
}

/** Checks a valid address on every network: `expected` on its own, address_wrong_network on the others. */
function checkValid(text: string, scriptHex: string, own: readonly NetworkName[], expected: Expected): void {
  const decoded = decodeBitcoinAddress(text);
  assert.ok(decoded.ok, `${text}: ${decoded.ok ? '' : decoded.detail}`);
  assert.equal(hex.encode(decoded.decoded.script), scriptHex, text);
  assert.deepEqual([...decoded.decoded.networks].sort(), [...own].sort(), text);
  for (const network of NETWORKS) {
    if (!own.includes(network)) assertRefused(text, network, 'address_wrong_network', /address, but withdrawals here are on/);
    else if (expected === 'unsupported') assertRefused(text, network, 'address_unsupported', /not supported/);
    else assertAccepted(text, network, expected, scriptHex);
  }
}

const segwitNetwork = (text: string): NetworkName => HRP_NETWORK[text.slice(0, text.lastIndexOf('1')).toLowerCase()]!;
const flipCase = (text: string): string => (text === text.toLowerCase() ? text.toUpperCase() : text.toLowerCase());

test('BIP350 valid segwit vectors: script as the vector says; v0 and v1-32-byte accepted on their own network, v1-40-byte and v2..16 refused as unsupported, others wrong network', () => {
  for (const [text, scriptHex, expected] of BIP350_VALID) {
    checkValid(text, scriptHex, [segwitNetwork(text)], expected);
    // Bitcoin Core's key_io tests try each one with its case flipped: all-upper and all-lower are the same address.
    checkValid(flipCase(text), scriptHex, [segwitNetwork(text)], expected);
  }
});

test('BIP173 valid segwit vectors: v0 ones still valid; its bech32 v1/v2/v16 ones invalid per BIP350 on every network', () => {
  for (const [text, scriptHex, expected] of BIP173_VALID_STILL) checkValid(text, scriptHex, [segwitNetwork(text)], expected);
  for (const text of BIP173_VALID_RECLASSIFIED) {
    assert.equal(decodeBitcoinAddress(text).ok, false, text);
    for (const network of NETWORKS) assertRefused(text, network, 'address_invalid', REASON.bech32NotBech32m);
  }
});

test('BIP173 and BIP350 invalid segwit vectors: address_invalid on mainnet, testnet and regtest, for the reason the BIP gives', () => {
  for (const [text, reason] of [...BIP173_INVALID, ...BIP350_INVALID]) {
    assert.equal(decodeBitcoinAddress(text).ok, false, text);
    for (const network of NETWORKS) assertRefused(text, network, 'address_invalid', reason);
  }
});

test('the BIPs\' plain Bech32/Bech32m test strings (valid or not) are no address on any network', () => {
  for (const text of BECH32_STRINGS_NOT_ADDRESSES) {
    for (const network of NETWORKS) assertRefused(text, network, 'address_invalid');
  }
});

test('Bitcoin Core key_io vectors: base58 P2PKH/P2SH of mainnet and testnet/signet/regtest (shared versions), and bcrt1 segwit', () => {
  const own = { main: ['mainnet'], testnet4: ['testnet', 'regtest'], signet: ['testnet', 'regtest'], regtest: ['testnet', 'regtest'] } as const;
  for (const [text, scriptHex, chain, expected] of CORE_VALID) {
    // A bech32 address belongs to one network by its prefix; base58 testnet versions serve testnet and regtest alike.
    checkValid(text, scriptHex, /^(bc|tb|bcrt)1/.test(text) ? [segwitNetwork(text)] : own[chain], expected);
  }
});

test('base58: a changed character or checksum, a changed case, a non-base58 character, a private key: all address_invalid', () => {
  const good = '1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo';
  const cases: ReadonlyArray<readonly [string, RegExp]> = [
    [`${good.slice(0, -1)}p`, /checksum does not match/], // last checksum character changed
    [`${good.slice(0, 5)}b${good.slice(6)}`, /checksum does not match/], // a payload character changed ('a' → 'b')
    [good.toLowerCase(), /not a Bitcoin address/], // base58 is case-sensitive (and has no lower-case 'l')
    [good.replace('F', 'f'), /checksum does not match/],
    ['36j4NfKv6Akva9amjWrLG6MuSQym1GuEmM', /checksum does not match/],
    [`${good.slice(0, 10)}0${good.slice(11)}`, /not a Bitcoin address/], // '0' is not base58
    [`${good.slice(0, 10)}l${good.slice(11)}`, /not a Bitcoin address/], // nor 'l'
    ['5JuW2AMDYu4xVwRG9DZW18VbzQrGcd5RCgb99sS6ehJsNQXu5b9', /decodes to 33 bytes/], // a WIF private key (Core key_io_valid.json)
    ['1', /not a Bitcoin address/],
  ];
  for (const [text, reason] of cases) {
    for (const network of NETWORKS) assertRefused(text, network, 'address_invalid', reason);
  }
  // The private key must not be repeated in the message.
  const refusal = parseWithdrawalAddress('5JuW2AMDYu4xVwRG9DZW18VbzQrGcd5RCgb99sS6ehJsNQXu5b9', 'mainnet');
  assert.ok(!refusal.ok && !refusal.detail.includes('5JuW2AMD'));
});

test('network mismatch both ways: base58 and bech32, testnet and regtest told apart by bech32 prefix only', () => {
  const cases: ReadonlyArray<readonly [string, NetworkName]> = [
    ['1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo', 'testnet'], // mainnet P2PKH
    ['1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo', 'regtest'],
    ['36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm', 'testnet'], // mainnet P2SH
    ['mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ', 'mainnet'], // testnet m…
    ['n4fajahJrAuKbN7uNsKjLjQkz9Qn5ewJXQ', 'mainnet'], // regtest n…
    ['2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK', 'mainnet'], // testnet 2…
    ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', 'mainnet'],
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', 'regtest'],
    ['BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', 'testnet'],
    ['tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c', 'regtest'],
    ['bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9', 'testnet'],
    ['bcrt1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkq3553uh', 'mainnet'],
  ];
  for (const [text, network] of cases) assertRefused(text, network, 'address_wrong_network');
  // Testnet base58 is regtest base58: accepted on both.
  assertAccepted('mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ', 'regtest', 'p2pkh', '76a914ce28b26c57472737f5c3561a1761185bd8589a4388ac');
  assertAccepted('2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA', 'testnet', 'p2sh', 'a91436e9f191e0b75036a77f65e2eaa4752443233fbe87');
});

test('letter case: all upper is normalised to lower, mixed is refused', () => {
  const upper = 'BC1P0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQZK5JJ0';
  const destination = assertAccepted(upper, 'mainnet', 'p2tr', '512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798');
  assert.equal(destination.address, 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0');
  assert.equal(assertAccepted('BCRT1QDAVT4J2SD7DLHQSAVTNFXVZPPW6K7QY97TMNU9', 'regtest', 'p2wpkh', '00146f58bac9506f9bfb821d62e69330410bb56f0085').address, 'bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9');
  for (const text of ['Bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jJ0', 'bC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', 'bcrT1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9']) {
    for (const network of NETWORKS) assertRefused(text, network, 'address_invalid', REASON.mixedCase);
  }
});

test('whitespace, empty, overlong and odd strings: address_invalid, never a throw', () => {
  const good = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
  const cases: ReadonlyArray<readonly [string, RegExp]> = [
    [` ${good}`, /spaces or line breaks around it/],
    [`${good} `, /spaces or line breaks around it/],
    [`${good}\n`, /spaces or line breaks around it/],
    [`\t${good}`, /spaces or line breaks around it/],
    [`${good}\r\n`, /spaces or line breaks around it/],
    [`${good}\u00a0`, /spaces or line breaks around it/],
    [`\u2003${good}`, /spaces or line breaks around it/],
    ['bc1qw508d6qejxtdg4y5r 3zarvary0c5xw7kv8f3t4', /space, a control character/],
    ['1FsSia9rv4NeEwvJ2G\u200bvXrX7LyxYspbN2mo', /outside ASCII/],
    ['', /no address given/],
    [' ', /spaces or line breaks/],
    ['1'.repeat(1000), /1000 characters/],
    [`bc1${'q'.repeat(997)}`, /1000 characters/],
    [`bc1q${'q'.repeat(96)}`, /100 characters, where a segwit address has at most 90|at most 90/],
    ['\u0000', /control character/],
    ['\ud800', /outside ASCII/],
    ['\u{1f4b0}', /outside ASCII/],
    ['bc1', /./],
    ['bc1q', /./],
    ['bcrt1', /./],
    ['tb11111111', /./],
    ['bitcoin:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', /not a Bitcoin address/], // a BIP21 URI is not an address
    ['xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8', /characters/],
  ];
  for (const [text, reason] of cases) {
    for (const network of NETWORKS) assertRefused(text, network, 'address_invalid', reason);
  }
  // Not even a string (a caller in plain JavaScript): refused, not thrown.
  for (const value of [undefined, null, 42, {}, ['bc1']] as unknown[]) {
    const result = parseWithdrawalAddress(value as string, 'mainnet');
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.problem, 'address_invalid');
  }
});

test('every single-character change of a valid address is refused as invalid, not accepted and not thrown', () => {
  // Bech32 guarantees detection of any single substitution; base58check's 32-bit checksum all but guarantees it.
  const alphabet = 'qpzry9x8gf2tvdw0s3jn54khce6mua7lbio1ABCZ ';
  for (const good of ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', '1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo']) {
    for (let i = 0; i < good.length; i += 1) {
      for (const c of alphabet) {
        if (c === good[i]) continue;
        const changed = `${good.slice(0, i)}${c}${good.slice(i + 1)}`;
        const result = parseWithdrawalAddress(changed, 'mainnet');
        assert.equal(result.ok, false, changed);
        assert.equal(!result.ok && result.problem, 'address_invalid', changed);
      }
    }
  }
});

test('dust: each type\'s limit; one below is amount_below_dust, at the limit ok; not a whole number of sats is refused', () => {
  const DESTINATIONS: ReadonlyArray<readonly [WithdrawalAddressType, number, string, NetworkName]> = [
    ['p2pkh', 546, '1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo', 'mainnet'],
    ['p2sh', 540, '36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm', 'mainnet'],
    ['p2wpkh', 294, 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 'mainnet'],
    ['p2wsh', 330, 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', 'testnet'],
    ['p2tr', 330, 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', 'mainnet'],
  ];
  for (const [type, limit, text, network] of DESTINATIONS) {
    assert.equal(dustLimitSats(type), limit, type);
    const result = parseWithdrawalAddress(text, network);
    assert.ok(result.ok, text);
    const destination = result.destination;
    assert.equal(destination.type, type);
    assert.equal(destination.dustSats, limit);
    assert.deepEqual(checkWithdrawalAmount(destination, limit), { ok: true });
    assert.deepEqual(checkWithdrawalAmount(destination, limit + 1), { ok: true });
    assert.deepEqual(checkWithdrawalAmount(destination, 21_000_000 * 100_000_000), { ok: true });
    for (const amount of [limit - 1, 1, 0, -1, -limit, limit + 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      const check = checkWithdrawalAmount(destination, amount);
      assert.equal(check.ok, false, `${type} ${amount}`);
      assert.equal(!check.ok && check.problem, 'amount_below_dust');
      assert.match(!check.ok ? check.detail : '', new RegExp(`${limit}`));
    }
  }
});
