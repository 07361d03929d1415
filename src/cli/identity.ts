// `bitwrk key`, `bitwrk sign`, `bitwrk verify`: the identity tools. `sign` and `verify` also help
// anyone writing a client in another language to check their signatures against ours.
import { readFileSync } from 'node:fs';
import { loadKeyFile, loadOrCreateKeyFile } from '../crypto/keyfile.js';
import { isNetworkName, type NetworkName } from '../crypto/networks.js';
import { messageDigest, signMessage } from '../crypto/signmessage.js';
import { createVerifier } from '../crypto/verifier.js';
import { toHex } from '../crypto/check.js';
import { parseFlags, UsageError, type Command } from './command.js';
import { defaultKeyFile } from './paths.js';

const keyOptions = {
  'key-file': { type: 'string' },
  network: { type: 'string' },
} as const;

function networkFlag(value: string | undefined): NetworkName {
  // Testnet by default, like `bitwrk exchange`: no real money moves until deposits exist.
  if (value === undefined) return 'testnet';
  if (!isNetworkName(value)) throw new UsageError(`--network must be mainnet, testnet or regtest, got "${value}"`);
  return value;
}

/** The message to sign or check: the argument, or standard input with --stdin (exact bytes). */
function messageArgument(positional: string | undefined, fromStdin: boolean | undefined): string {
  if (fromStdin === true) {
    if (positional !== undefined) throw new UsageError('give the message as an argument or with --stdin, not both');
    return readFileSync(0, 'utf8');
  }
  if (positional === undefined) throw new UsageError('the message to sign is missing');
  return positional;
}

const key: Command = {
  name: 'key',
  summary: 'create (if missing) and show your identity key file and address',
  usage: `usage: bitwrk key [--key-file PATH] [--network mainnet|testnet|regtest]

Creates the key file if it does not exist (mode 0600, in a 0700 directory) and prints the address
that identifies you on BitWrk. The key file is a WIF private key: it can be imported into a Bitcoin
wallet, and anyone who can read it can spend your money. It is never overwritten.

options:
  --key-file PATH   key file to use (default: ${defaultKeyFile()}; $BITWRK_HOME moves the folder)
  --network NAME    Bitcoin network of the key: testnet (default, as the exchange), mainnet or regtest`,
  async run(argv) {
    const { values } = parseFlags(argv, keyOptions);
    const path = values['key-file'] ?? defaultKeyFile();
    const { identity, created } = loadOrCreateKeyFile(path, networkFlag(values.network));
    console.log(`${created ? 'created' : 'key file'}: ${path}`);
    console.log(`network: ${identity.network}`);
    console.log(`address: ${identity.address}`);
    return 0;
  },
};

const sign: Command = {
  name: 'sign',
  summary: 'sign a message with your key, as Bitcoin signmessage does',
  usage: `usage: bitwrk sign [--key-file PATH] [--network NAME] [--digest] (MESSAGE | --stdin)

Prints the base64 signature of MESSAGE (65 bytes: header, r, s), the same as Bitcoin Core's
signmessage. With --stdin the message is read from standard input, byte for byte (use it for
multi-line BitWrk signed texts). With --digest the signmessage digest is printed too.`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { ...keyOptions, stdin: { type: 'boolean' }, digest: { type: 'boolean' } }, 1);
    const message = messageArgument(positionals[0], values.stdin);
    const identity = loadKeyFile(values['key-file'] ?? defaultKeyFile(), networkFlag(values.network));
    if (values.digest === true) console.log(`digest: ${toHex(messageDigest(message))}`);
    console.log(signMessage(message, identity.privateKey, { compressed: identity.compressed }));
    return 0;
  },
};

const verify: Command = {
  name: 'verify',
  summary: 'check a signed message (exit code 0 if valid, 1 if not)',
  usage: `usage: bitwrk verify ADDRESS SIGNATURE (MESSAGE | --stdin)

Checks that SIGNATURE (base64, 65 bytes) was made over MESSAGE by the key of ADDRESS, the way
Bitcoin Core's verifymessage does. Prints "valid" (exit 0) or "invalid" (exit 1).`,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { stdin: { type: 'boolean' } }, 3);
    const [address, signature, text] = positionals;
    if (address === undefined || signature === undefined) throw new UsageError('ADDRESS and SIGNATURE are required');
    const valid = createVerifier().verify(messageArgument(text, values.stdin), address, signature);
    console.log(valid ? 'valid' : 'invalid');
    return valid ? 0 : 1;
  },
};

export const identityCommands: readonly Command[] = [key, sign, verify];
