// Private keys and WIF. Keys come from crypto randomness (noble's randomSecretKey); the public
// key is compressed by default, as the original daemon and modern wallets use.
import * as secp from '@noble/secp256k1';
import * as wif from 'wif';
import { addressFromPublicKey } from './address.js';
import { checkBytes } from './check.js';
import type { NetworkName } from './networks.js';
import './noble-setup.js';

export interface Identity {
  readonly privateKey: Uint8Array;
  readonly compressed: boolean;
  readonly network: NetworkName;
  readonly publicKey: Uint8Array;
  readonly address: string;
}

const WIF_VERSION = { mainnet: 0x80, testnet: 0xef } as const;

export function generatePrivateKey(): Uint8Array {
  return secp.utils.randomSecretKey();
}

export function identityFromPrivateKey(privateKey: Uint8Array, network: NetworkName, compressed = true): Identity {
  checkBytes(privateKey, 32, 'privateKey');
  if (!secp.utils.isValidSecretKey(privateKey)) throw new RangeError('"privateKey" is not a valid secp256k1 secret key');
  const publicKey = secp.getPublicKey(privateKey, compressed);
  return { privateKey, compressed, network, publicKey, address: addressFromPublicKey(publicKey, network) };
}

export function encodeWif(identity: Pick<Identity, 'privateKey' | 'compressed' | 'network'>): string {
  const version = identity.network === 'mainnet' ? WIF_VERSION.mainnet : WIF_VERSION.testnet;
  return wif.encode({ version, privateKey: identity.privateKey, compressed: identity.compressed });
}

/**
 * Decodes a WIF key for `network`. Returns an error message for malformed WIF or a key of
 * another network (testnet and regtest share one WIF version).
 */
export function decodeWif(text: string, network: NetworkName): Identity | string {
  let decoded: { version: number; privateKey: Uint8Array; compressed: boolean };
  try {
    decoded = wif.decode(text.trim());
  } catch (error) {
    return `not a valid WIF private key (${(error as Error).message})`;
  }
  const expected = network === 'mainnet' ? WIF_VERSION.mainnet : WIF_VERSION.testnet;
  if (decoded.version !== expected) {
    const actual = decoded.version === WIF_VERSION.mainnet ? 'mainnet' : decoded.version === WIF_VERSION.testnet ? 'testnet/regtest' : `version 0x${decoded.version.toString(16)}`;
    return `the key is for ${actual}, expected ${network}`;
  }
  if (!secp.utils.isValidSecretKey(decoded.privateKey)) return 'the WIF payload is not a valid secp256k1 secret key';
  return identityFromPrivateKey(new Uint8Array(decoded.privateKey), network, decoded.compressed);
}
