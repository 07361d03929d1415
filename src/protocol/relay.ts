// The relay's protocol, shared by the exchange (src/server/relay.ts) and the daemons that listen
// and dial through it (docs/protocol.md §11): its paths, close codes, the control connection's
// requests and pushes, and the texts a listener and a buyer sign.
import { z } from 'zod';
import { signedText } from '../crypto/signed-text.js';
import { defineProtocol, fields } from '../transport/protocol.js';

export const RELAY_PATH = '/relay';

/** Close codes the relay uses (docs/protocol.md §6). */
export const RELAY_CLOSE = { notListening: 4010, acceptTimeout: 4011, tooMany: 4012, replaced: 4013, dialRefused: 4014, idle: 4015 } as const;

const address = z.string().max(100);
const hex32 = z.string().regex(/^[0-9a-f]{32}$/);

export const relayProtocol = defineProtocol({
  name: 'bitwrk-relay',
  requests: {
    'relay.challenge': { request: z.object({}), response: z.object({ challenge: hex32 }) },
    'relay.listen': {
      request: z.object({ address, signature: fields.bytes(65) }),
      response: z.object({ dialPath: z.string() }),
    },
  },
  pushes: {
    'relay.incoming': z.object({ connectionId: hex32 }),
  },
});
export type RelayProtocol = typeof relayProtocol;

export function relayListenText(exchangeId: string, listener: string, challenge: string): string {
  return signedText('relay.listen', [['exchange', exchangeId], ['address', listener], ['challenge', challenge]]);
}

export function relayDialText(exchangeId: string, dial: { txId: string; buyer: string; seller: string; nonce: string }): string {
  return signedText('relay.dial', [['exchange', exchangeId], ['tx', dial.txId], ['seller', dial.seller], ['address', dial.buyer], ['nonce', dial.nonce]]);
}

export const dialPath = (listener: string): string => `${RELAY_PATH}/dial/${listener}`;
export const acceptPath = (connectionId: string): string => `${RELAY_PATH}/accept/${connectionId}`;

/** The query a buyer adds to the dial URL: the signed dial (signature in base64url). */
export function dialQuery(dial: { txId: string; buyer: string; nonce: string; signature: Uint8Array }): string {
  return new URLSearchParams({ tx: dial.txId, buyer: dial.buyer, nonce: dial.nonce, signature: Buffer.from(dial.signature).toString('base64url') }).toString();
}
