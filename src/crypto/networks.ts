// The Bitcoin networks an identity can belong to. Testnet and regtest share P2PKH version 0x6f
// and WIF version 0xef, so a regtest address is a testnet-format address.
import { networks, type Network } from 'bitcoinjs-lib';

export type NetworkName = 'mainnet' | 'testnet' | 'regtest';

export const NETWORK_NAMES: readonly NetworkName[] = ['mainnet', 'testnet', 'regtest'];

export function bitcoinNetwork(name: NetworkName): Network {
  if (name === 'mainnet') return networks.bitcoin;
  return name === 'testnet' ? networks.testnet : networks.regtest;
}

export function isNetworkName(text: string): text is NetworkName {
  return (NETWORK_NAMES as readonly string[]).includes(text);
}
