// One agent's line to the exchange, as a daemon has one: a reconnecting client over the
// in-process network, subscribed to the agent's own events, sending signed commands. A command
// whose answer is lost (a dropped frame, a restart) is sent again, byte for byte (same nonce and
// signature), so it takes effect at most once; "nonce reused" on a resend means it already had.
import type { Clock } from '../src/clock.js';
import { createNonce } from '../src/crypto/nonce.js';
import type { TxMessageType } from '../src/market/tx-messages.js';
import type { Prng } from '../src/random.js';
import { exchangeProtocol, pushedEvent, type ExchangeProtocol, type PushedEvent } from '../src/protocol/exchange.js';
import { creditText, submitEvidenceText, placeBidText, txMessageText, withdrawBidText } from '../src/protocol/signed-commands.js';
import { ReconnectingClient } from '../src/transport/client.js';
import { ProtocolError } from '../src/transport/errors.js';
import type { MemoryNetwork } from '../src/transport/memory.js';
import type { RequestBody, ResponseBody } from '../src/transport/protocol.js';
import { EXCHANGE_ADDRESS, SIM_EXCHANGE_ID } from './exchange-host.js';
import { standInSignatureBytes } from './identities.js';
import type { Answer, MarketPort } from './market-port.js';

/** How long one attempt waits for its answer, and how often a command is sent again. */
const REQUEST_TIMEOUT_MS = 10_000;
const RESENDS_MAX = 5;

export interface LinkContext {
  readonly clock: Clock;
  readonly prng: Prng;
  readonly network: MemoryNetwork;
  /** Counts commands sent again after a lost answer. */
  resent: number;
}


const RESENDABLE = new Set(['connection_closed', 'request_timeout', 'internal']);

export class AgentLink implements MarketPort {
  private readonly client: ReconnectingClient<ExchangeProtocol>;
  private opened = false;

  constructor(
    private readonly context: LinkContext,
    readonly address: string,
    onEvent: (event: PushedEvent) => void,
    /** Told after every reconnect (pushes may have been missed meanwhile). */
    onReconnect: () => void,
    subscribed = true,
  ) {
    this.client = new ReconnectingClient({
      protocol: exchangeProtocol,
      clock: context.clock,
      prng: context.prng,
      connect: async () => context.network.connect(address, EXCHANGE_ADDRESS),
      peerOptions: { requestTimeoutMs: REQUEST_TIMEOUT_MS },
      onStateChange: (state) => {
        if (state !== 'open') return;
        if (this.opened) onReconnect();
        this.opened = true;
      },
    });
    this.client.onPush('event', ({ event }) => {
      // Checked on arrival, as the daemon checks it; a push that does not parse is a bug here.
      const parsed = pushedEvent.safeParse(event);
      if (!parsed.success) throw new Error(`a push that is not a documented event: ${parsed.error.message}`);
      onEvent(parsed.data);
    });
    if (subscribed) this.client.subscribe('subscribe', { topic: `participant:${address}` });
    this.client.start();
  }

  close(): void {
    this.client.close();
  }

  placeBid(article: string, side: 'buy' | 'sell', priceSats: number, avoid: readonly string[] = []): Promise<Answer<ResponseBody<ExchangeProtocol, 'placeBid'>>> {
    const unsigned = { address: this.address, nonce: this.nonce(), article, side, priceSats, ...(avoid.length === 0 ? {} : { avoid: [...avoid] }) };
    return this.send('placeBid', { ...unsigned, signature: standInSignatureBytes(this.address, placeBidText(SIM_EXCHANGE_ID, unsigned)) });
  }

  withdrawBid(bidId: string): Promise<Answer<ResponseBody<ExchangeProtocol, 'withdrawBid'>>> {
    const unsigned = { address: this.address, nonce: this.nonce(), bidId };
    return this.send('withdrawBid', { ...unsigned, signature: standInSignatureBytes(this.address, withdrawBidText(SIM_EXCHANGE_ID, unsigned)) });
  }

  txMessage(txId: string, message: TxMessageType, fields: Record<string, string> = {}): Promise<Answer<ResponseBody<ExchangeProtocol, 'txMessage'>>> {
    const unsigned = { address: this.address, nonce: this.nonce(), txId, message, fields };
    return this.send('txMessage', { ...unsigned, signature: standInSignatureBytes(this.address, txMessageText(SIM_EXCHANGE_ID, unsigned)) });
  }

  submitEvidence(txId: string, witnesses: readonly string[]): Promise<Answer<ResponseBody<ExchangeProtocol, 'submitEvidence'>>> {
    const unsigned = { address: this.address, nonce: this.nonce(), txId, witnesses: [...witnesses] };
    return this.send('submitEvidence', { ...unsigned, signature: standInSignatureBytes(this.address, submitEvidenceText(SIM_EXCHANGE_ID, unsigned)) });
  }

  /** Admin only: credits a participant (the simulation's stand-in for deposits). */
  credit(participant: string, amountSats: number): Promise<Answer<ResponseBody<ExchangeProtocol, 'credit'>>> {
    const unsigned = { address: this.address, nonce: this.nonce(), participant, amountSats };
    return this.send('credit', { ...unsigned, signature: standInSignatureBytes(this.address, creditText(SIM_EXCHANGE_ID, unsigned)) });
  }

  /** Unsigned queries (reconciling after missed pushes). */
  queryTransaction(txId: string): Promise<Record<string, unknown>> {
    return this.client.request('transaction', { txId }, { timeoutMs: REQUEST_TIMEOUT_MS });
  }

  queryReputation(address: string): Promise<ResponseBody<ExchangeProtocol, 'reputation'>> {
    return this.client.request('reputation', { address }, { timeoutMs: REQUEST_TIMEOUT_MS });
  }

  queryParticipant(): Promise<ResponseBody<ExchangeProtocol, 'participant'>> {
    return this.client.request('participant', { address: this.address }, { timeoutMs: REQUEST_TIMEOUT_MS });
  }

  private nonce(): string {
    return createNonce(this.context.clock, (count) => this.context.prng.nextBytes(count));
  }

  private async send<T extends 'placeBid' | 'withdrawBid' | 'txMessage' | 'credit' | 'submitEvidence'>(type: T, body: RequestBody<ExchangeProtocol, T>): Promise<Answer<ResponseBody<ExchangeProtocol, T>>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.client.request(type, body, { timeoutMs: REQUEST_TIMEOUT_MS });
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        if (attempt > 0 && error.errorName === 'nonce_reused') return 'duplicate';
        if (!RESENDABLE.has(error.errorName) || attempt >= RESENDS_MAX) throw error;
        this.context.resent++;
      }
    }
  }
}
