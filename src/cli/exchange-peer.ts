// One connection to the exchange for a CLI command (`bitwrk admin`, `arbiter`, `payer`): the URL
// checked, the `info` answer read, the exchange's refusal printed in words with its name and code
// (exit status 1), the connection closed however the command ends.
import { realClock } from '../clock.js';
import { exchangeProtocol } from '../protocol/exchange.js';
import { ProtocolError } from '../transport/errors.js';
import { RpcPeer } from '../transport/rpc.js';
import { connectWebSocket } from '../transport/ws-client.js';
import { UsageError } from './command.js';

export const DEFAULT_EXCHANGE_URL = 'ws://127.0.0.1:8090/ws';

export type ExchangePeer = RpcPeer<typeof exchangeProtocol>;

export async function withExchangePeer(url: string, command: string, run: (peer: ExchangePeer, info: { readonly exchangeId: string; readonly nowMs: number }) => Promise<number>): Promise<number> {
  if (!/^wss?:\/\//.test(url)) throw new UsageError(`--exchange expects a ws:// URL, got "${url}"`);
  const peer = new RpcPeer(await connectWebSocket(url, { clock: realClock }), exchangeProtocol, {}, { clock: realClock });
  try {
    const info = await peer.request('info', {});
    return await run(peer, info);
  } catch (error) {
    if (error instanceof ProtocolError) {
      console.error(`bitwrk ${command}: the exchange refused: ${error.message} (${error.errorName} ${error.code})`);
      return 1;
    }
    throw error;
  } finally {
    peer.close(1000, 'done');
  }
}
