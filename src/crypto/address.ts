// P2PKH addresses (base58check of version || HASH160(public key)), through bitcoinjs-lib.
// A participant in BitWrk is its address.
import { address as bitcoinAddress, payments } from 'bitcoinjs-lib';
import type { ErrorName } from '../transport/errors.js';
import { checkBytes } from './check.js';
import { hash160 } from './hash.js';
import { bitcoinNetwork, type NetworkName } from './networks.js';

export function addressFromPublicKey(publicKey: Uint8Array, network: NetworkName): string {
  checkBytes(publicKey, undefined, 'publicKey');
  if (publicKey.length !== 33 && publicKey.length !== 65) {
    throw new RangeError(`"publicKey" expected 33 or 65 bytes, got length=${publicKey.length}`);
  }
  const { address } = payments.p2pkh({ hash: hash160(publicKey), network: bitcoinNetwork(network) });
  return address!;
}

export interface ParsedAddress {
  /** 'testnet' stands for testnet and regtest, which share the address format. */
  readonly network: 'mainnet' | 'testnet';
  readonly hash160: Uint8Array;
}

/** The wire error codes (src/transport/errors.ts) an address can fail with. */
export type AddressError = Extract<ErrorName, 'address_invalid' | 'address_wrong_network'>;

export type AddressResult =
  | { ok: true; address: ParsedAddress }
  | { ok: false; error: AddressError; detail: string };

/**
 * Parses a P2PKH address; when `expected` is given, an address of another network is an error
 * (regtest expects testnet-format addresses). Returns errors, never throws for bad input.
 */
export function parseAddress(text: string, expected?: NetworkName): AddressResult {
  if (typeof text !== 'string' || text.length < 26 || text.length > 35) {
    return { ok: false, error: 'address_invalid', detail: 'an address has 26 to 35 characters' };
  }
  let decoded: { version: number; hash: Uint8Array };
  try {
    decoded = bitcoinAddress.fromBase58Check(text);
  } catch (error) {
    return { ok: false, error: 'address_invalid', detail: (error as Error).message };
  }
  if (decoded.hash.length !== 20) return { ok: false, error: 'address_invalid', detail: 'wrong hash length' };
  const network = decoded.version === 0x00 ? 'mainnet' : decoded.version === 0x6f ? 'testnet' : undefined;
  if (network === undefined) {
    return { ok: false, error: 'address_invalid', detail: `version byte 0x${decoded.version.toString(16)} is not P2PKH` };
  }
  if (expected !== undefined && network !== (expected === 'mainnet' ? 'mainnet' : 'testnet')) {
    return { ok: false, error: 'address_wrong_network', detail: `${text} is a ${network} address, expected ${expected}` };
  }
  return { ok: true, address: { network, hash160: new Uint8Array(decoded.hash) } };
}
