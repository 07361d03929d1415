// The exchange's deposit key: an account-level extended *public* key (xpub/zpub for mainnet,
// tpub/vpub for testnet and regtest, or a `wpkh(...)`/`tr(...)` descriptor of one), from which
// each participant's deposit addresses are derived on the external chain (…/0/index): BIP84
// native segwit by default, BIP86 taproot as an option. The exchange holds no key that can spend:
// an extended private key is refused at start, and so is a key of another network. Key handling
// is @scure/bip32's and address encoding @scure/btc-signer's; nothing here is curve code.
import { createBase58check } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { NETWORK, p2tr, p2wpkh, TEST_NETWORK } from '@scure/btc-signer';
import { sha256 } from '@noble/hashes/sha2.js';
import type { NetworkName } from '../crypto/networks.js';

export type DepositAddressType = 'p2wpkh' | 'p2tr';

export class DepositKeyError extends Error {}

/** Extended key versions (SLIP-132): which network, whether public, and the script it implies. */
const VERSIONS: ReadonlyMap<number, { readonly prefix: string; readonly mainnet: boolean; readonly isPrivate: boolean; readonly implies?: DepositAddressType | 'p2sh-p2wpkh' }> = new Map([
  [0x0488b21e, { prefix: 'xpub', mainnet: true, isPrivate: false }],
  [0x0488ade4, { prefix: 'xprv', mainnet: true, isPrivate: true }],
  [0x04b24746, { prefix: 'zpub', mainnet: true, isPrivate: false, implies: 'p2wpkh' }],
  [0x04b2430c, { prefix: 'zprv', mainnet: true, isPrivate: true }],
  [0x049d7cb2, { prefix: 'ypub', mainnet: true, isPrivate: false, implies: 'p2sh-p2wpkh' }],
  [0x049d7878, { prefix: 'yprv', mainnet: true, isPrivate: true }],
  [0x043587cf, { prefix: 'tpub', mainnet: false, isPrivate: false }],
  [0x04358394, { prefix: 'tprv', mainnet: false, isPrivate: true }],
  [0x045f1cf6, { prefix: 'vpub', mainnet: false, isPrivate: false, implies: 'p2wpkh' }],
  [0x045f18bc, { prefix: 'vprv', mainnet: false, isPrivate: true }],
  [0x044a5262, { prefix: 'upub', mainnet: false, isPrivate: false, implies: 'p2sh-p2wpkh' }],
  [0x044a4e28, { prefix: 'uprv', mainnet: false, isPrivate: true }],
]);

const REGTEST_NETWORK = { ...TEST_NETWORK, bech32: 'bcrt' };

/** @scure/btc-signer's parameters of a network (regtest: testnet's with the bcrt prefix). */
export function btcSignerNetwork(network: NetworkName): typeof NETWORK {
  return network === 'mainnet' ? NETWORK : network === 'testnet' ? TEST_NETWORK : REGTEST_NETWORK;
}
const base58check = createBase58check(sha256);

/** Extended keys are 78 bytes; base58check text of them is 111 characters. */
const EXTENDED_KEY_CHARS = 111;
const EXTENDED_KEY_BYTES = 78;
/** Version 4, depth 1, parent fingerprint 4, child number 4, chain code 32: the key data follows. */
const KEY_DATA_OFFSET = 45;
/** `wpkh(KEY/0/*)` or `tr(KEY/0/*)`, optionally with `[fingerprint/path]` key origin and a `#checksum`. */
const DESCRIPTOR = /^(wpkh|tr)\((?:\[[0-9a-fA-F]{8}(?:\/[0-9]+['hH]?)*\])?([1-9A-HJ-NP-Za-km-z]+)(\/0\/\*)?\)(?:#[a-z0-9]{8})?$/;

export interface DepositKey {
  readonly network: NetworkName;
  readonly type: DepositAddressType;
  /** The key as given (an xpub or a descriptor): public, safe to log. */
  readonly text: string;
  /** The external chain (…/0): addresses are its children. */
  readonly external: HDKey;
  /** The internal chain (…/1): the payouts' change addresses. */
  readonly internal: HDKey;
  /** The account key's fingerprint: PSBT derivations are given from it (paths 0/i and 1/i). */
  readonly accountFingerprint: number;
}

/**
 * Parses the configured deposit key for `network`. `taproot` asks for BIP86 addresses from an
 * xpub/tpub (a zpub/vpub implies BIP84, a `tr(...)` descriptor BIP86). Refuses private keys,
 * other networks, nested segwit (ypub/upub) and anything malformed, saying which.
 */
export function parseDepositKey(text: string, network: NetworkName, options: { readonly taproot?: boolean } = {}): DepositKey {
  const trimmed = text.trim();
  const descriptor = DESCRIPTOR.exec(trimmed);
  const encoded = descriptor === null ? trimmed : descriptor[2]!;
  if (descriptor === null && /^\w+\(/.test(trimmed)) throw new DepositKeyError('only wpkh(KEY/0/*) and tr(KEY/0/*) descriptors of one extended public key are taken');
  if (encoded.length !== EXTENDED_KEY_CHARS) throw new DepositKeyError(`not an extended key: expected ${EXTENDED_KEY_CHARS} base58 characters, got ${encoded.length}`);
  let bytes: Uint8Array;
  try {
    bytes = base58check.decode(encoded);
  } catch {
    throw new DepositKeyError('not an extended key: its base58 checksum does not match (a typing error?)');
  }
  if (bytes.length !== EXTENDED_KEY_BYTES) throw new DepositKeyError(`not an extended key: it decodes to ${bytes.length} bytes, not ${EXTENDED_KEY_BYTES}`);
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  const kind = VERSIONS.get(version);
  if (kind === undefined) throw new DepositKeyError(`an extended key of unknown version 0x${version.toString(16).padStart(8, '0')}`);
  if (kind.isPrivate) throw new DepositKeyError(`${kind.prefix}: an extended private key; the exchange takes only the account's public key (xpub, zpub, tpub or vpub), so that it holds nothing that can spend`);
  if (kind.mainnet !== (network === 'mainnet')) throw new DepositKeyError(`${kind.prefix}: a ${kind.mainnet ? 'mainnet' : 'testnet'} key for a ${network} exchange`);
  if (kind.implies === 'p2sh-p2wpkh') throw new DepositKeyError(`${kind.prefix}: nested segwit (P2SH-P2WPKH) deposit addresses are not supported; give the account's zpub/vpub or xpub/tpub`);
  const wanted: DepositAddressType = descriptor !== null ? (descriptor[1] === 'tr' ? 'p2tr' : 'p2wpkh') : options.taproot === true ? 'p2tr' : 'p2wpkh';
  if (kind.implies !== undefined && kind.implies !== wanted) throw new DepositKeyError(`${kind.prefix} is a key for native segwit (BIP84) addresses, not taproot`);
  // BIP32 test vector 5: a public key's data is a compressed point, 02 or 03; @scure/bip32 refuses
  // 00 (private key data) and 01/04 too, but with messages that do not say so.
  const keyPrefix = bytes[KEY_DATA_OFFSET]!;
  if (keyPrefix !== 0x02 && keyPrefix !== 0x03) throw new DepositKeyError(`not a valid extended public key: its key data starts with 0x${keyPrefix.toString(16).padStart(2, '0')}${keyPrefix === 0 ? ' (private key data under a public version)' : ''}, where a compressed public key starts with 02 or 03`);
  let account: HDKey;
  try {
    account = HDKey.fromExtendedKey(encoded, { private: 0, public: version });
  } catch (error) {
    throw new DepositKeyError(`not a valid extended public key: ${(error as Error).message}`);
  }
  // An account-level key is at depth 3 (m/84'/coin'/account'); a deeper or shallower one is a mistake we can see.
  if (account.depth !== 3) throw new DepositKeyError(`the key is at depth ${account.depth}; give the account-level key (depth 3, e.g. m/84'/0'/0')`);
  return { network, type: wanted, text: trimmed, external: account.deriveChild(0), internal: account.deriveChild(1), accountFingerprint: account.fingerprint };
}

/** The deposit address at `index` of the external chain (0 ≤ index < 2^31). */
export function depositAddress(key: DepositKey, index: number): string {
  return chainAddress(key, 0, index);
}

/** The address at `index` of the external (0: deposits) or internal (1: change) chain. */
export function chainAddress(key: DepositKey, chain: 0 | 1, index: number): string {
  if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** 31) throw new RangeError(`address index ${index} is not in 0..2^31-1`);
  const publicKey = chainPublicKey(key, chain, index);
  const network = btcSignerNetwork(key.network);
  const payment = key.type === 'p2tr' ? p2tr(publicKey.subarray(1), undefined, network) : p2wpkh(publicKey, network);
  if (payment.address === undefined) throw new Error('the address could not be encoded');
  return payment.address;
}

/** The compressed public key at chain/index of the account. */
export function chainPublicKey(key: DepositKey, chain: 0 | 1, index: number): Uint8Array {
  const publicKey = (chain === 0 ? key.external : key.internal).deriveChild(index).publicKey;
  if (publicKey === null) throw new Error('a derived public key is missing');
  return publicKey;
}

/**
 * The deposit chain as a descriptor a watch-only wallet (Bitcoin Core's importdescriptors)
 * takes: `wpkh(XPUB/*)` or `tr(XPUB/*)` over the external chain's key in the standard
 * xpub/tpub encoding (Core reads no SLIP-132 zpub/vpub), without a checksum.
 */
export function watchDescriptor(key: DepositKey): string {
  const external = key.external;
  const standard = new HDKey({
    versions: { private: 0, public: key.network === 'mainnet' ? 0x0488b21e : 0x043587cf },
    depth: external.depth,
    index: external.index,
    parentFingerprint: external.parentFingerprint,
    chainCode: external.chainCode!,
    publicKey: external.publicKey!,
  });
  return `${key.type === 'p2tr' ? 'tr' : 'wpkh'}(${standard.publicExtendedKey}/*)`;
}

/** A BIP21 payment URI: `bitcoin:ADDRESS`, with `?amount=` in BTC (exact decimal) when given. */
export function bip21Uri(address: string, amountSats?: number): string {
  if (amountSats === undefined) return `bitcoin:${address}`;
  const whole = Math.floor(amountSats / 100_000_000);
  const fraction = String(amountSats % 100_000_000).padStart(8, '0').replace(/0+$/, '');
  return `bitcoin:${address}?amount=${whole}${fraction === '' ? '' : `.${fraction}`}`;
}
