// The seller's side of the exchange's relay (src/server/relay.ts): a control connection that stays
// open (reconnecting, listening again after every reconnect), and for every buyer that dials this
// seller at the relay, a connection of its own to the relay that the daemon treats exactly like a
// buyer's direct connection to its peer endpoint.
import type { Clock } from '../clock.js';
import type { Identity } from '../crypto/keys.js';
import { signMessage } from '../crypto/signmessage.js';
import type { Prng } from '../random.js';
import { acceptPath, RELAY_PATH, relayListenText, relayProtocol, type RelayProtocol } from '../protocol/relay.js';
import { ReconnectingClient } from '../transport/client.js';
import type { Connection } from '../transport/connection.js';
import { SECURE_FRAME_BYTES_MAX } from '../transport/secure-connection.js';
import { connectWebSocket } from '../transport/ws-client.js';

export interface RelayListenerOptions {
  /** The exchange's WebSocket URL; the relay is on the same host and port. */
  readonly exchangeUrl: string;
  readonly exchangeId: string;
  readonly identity: Identity;
  readonly clock: Clock;
  readonly prng: Prng;
  readonly random: (count: number) => Uint8Array;
  /** A buyer's connection, relayed. */
  readonly onConnection: (connection: Connection) => void;
  readonly log: (line: string) => void;
}

/** The relay's base URL for an exchange URL: same scheme, host and port. */
export function relayBaseUrl(exchangeUrl: string): string {
  return new URL(exchangeUrl).origin;
}

export class RelayListener {
  /** Where buyers dial this seller (the `workerurl` it announces). */
  readonly dialUrl: string;
  private readonly control: ReconnectingClient<RelayProtocol>;

  constructor(private readonly options: RelayListenerOptions) {
    const base = relayBaseUrl(options.exchangeUrl);
    this.dialUrl = `${base}${RELAY_PATH}/dial/${options.identity.address}`;
    this.control = new ReconnectingClient({
      protocol: relayProtocol,
      clock: options.clock,
      prng: options.prng,
      connect: () => connectWebSocket(`${base}${RELAY_PATH}/listen`, { clock: options.clock }),
      onOpen: async (peer) => {
        const { identity } = options;
        // The relay's challenge binds this listen to this connection: a recorded one is worthless.
        const { challenge } = await peer.request('relay.challenge', {});
        const signature = signMessage(relayListenText(options.exchangeId, identity.address, challenge), identity.privateKey, { compressed: identity.compressed });
        await peer.request('relay.listen', { address: identity.address, signature: new Uint8Array(Buffer.from(signature, 'base64')) });
      },
      onStateChange: (state, detail) => options.log(`relay ${state}: ${detail}`),
    });
    this.control.onPush('relay.incoming', ({ connectionId }) => {
      connectWebSocket(`${base}${acceptPath(connectionId)}`, { clock: options.clock, frameBytesMax: SECURE_FRAME_BYTES_MAX }).then(options.onConnection, (error: unknown) =>
        options.log(`relay: could not accept a buyer: ${(error as Error).message}`),
      );
    });
  }

  /** Connects and listens; resolves once the relay has taken the first listen (or rejects). */
  async start(timeoutMs = 30_000): Promise<void> {
    this.control.start();
    await this.control.whenOpen(timeoutMs);
  }

  close(): void {
    this.control.close();
  }
}
