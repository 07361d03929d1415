// A client of the daemon's local API (docs/daemon.md), for programs that buy through a daemon:
// `bitwrk render`, scripts. It speaks plain HTTP with the API token and turns the API's answers
// into results or LocalApiErrors that say what went wrong.
import { Readable } from 'node:stream';
import { describeFetchError } from './worker-server.js';

/** A trade as GET /trades/ID shows it (the fields a buyer program needs). */
export interface TradeView {
  readonly tradeId: string;
  readonly state: string;
  readonly deal: { readonly priceSats: number; readonly feeSats: number } | null;
  readonly error?: string | null;
  /** For a purchase: what sending its work put on the wire (null before it was sent). */
  readonly workSent?: { readonly bytes: number; readonly chunks: number; readonly chunksSent: number; readonly bytesSent: number } | null;
  /** For a purchase: the sellers its next bid avoids (those of its failed attempts, and the request's). */
  readonly avoid?: readonly string[];
  /** For a purchase: the seller of its latest transaction (null before a match). */
  readonly seller?: string | null;
  readonly [field: string]: unknown;
}

export type TradeResult =
  | { readonly kind: 'done'; readonly tradeId: string; readonly bytes: Uint8Array; /** The seller's address (null: a worker of this daemon did it). */ readonly seller: string | null }
  | { readonly kind: 'pending'; readonly trade: TradeView }
  | { readonly kind: 'failed'; readonly status: number; readonly name: string; readonly message: string; readonly trade: TradeView | null };

export class LocalApiError extends Error {
  override name = 'LocalApiError';
  constructor(
    message: string,
    readonly status: number | null,
    readonly errorName: string | null,
  ) {
    super(message);
  }
}

interface ErrorBody {
  readonly error?: { readonly name?: string; readonly message?: string };
  readonly trade?: TradeView;
}

export class LocalApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async call(path: string, init: RequestInit & { duplex?: 'half' }, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${this.token}`, ...init.headers }, ...(signal === undefined ? {} : { signal }) });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new LocalApiError(`the daemon at ${this.baseUrl} cannot be reached: ${describeFetchError(error)}`, null, null);
    }
  }

  private static async failure(response: Response): Promise<LocalApiError & { trade: TradeView | null }> {
    const text = await response.text();
    let body: ErrorBody = {};
    try {
      body = JSON.parse(text) as ErrorBody;
    } catch {
      // not JSON: the text is the message
    }
    const error = new LocalApiError(body.error?.message ?? (text.slice(0, 200) || `HTTP ${response.status}`), response.status, body.error?.name ?? null) as LocalApiError & { trade: TradeView | null };
    error.trade = body.trade ?? null;
    return error;
  }

  /**
   * Checks that the daemon answers and that its exchange trades `article` (when the daemon knows
   * the exchange's articles yet); throws a LocalApiError saying which is not so.
   */
  async article(article: string, signal?: AbortSignal): Promise<void> {
    const response = await this.call('/info', { method: 'GET' }, signal);
    if (response.status !== 200) throw await LocalApiClient.failure(response);
    const info = (await response.json()) as { articles?: string[]; exchangeUrl?: string };
    if (info.articles !== undefined && info.articles.length > 0 && !info.articles.includes(article)) {
      throw new LocalApiError(`the exchange ${info.exchangeUrl ?? ''} does not trade ${article} (it trades ${info.articles.filter((id) => id.startsWith('net.bitwrk/blender/')).join(', ') || 'no Blender article'})`, 404, 'article_unknown');
    }
  }

  /** Starts a purchase (async=1): the work is streamed from `parts`; resolves to the trade id. */
  /** `avoid`: sellers not to buy from (e.g. those that failed this work). */
  async buy(article: string, parts: readonly Uint8Array[], options: { readonly priceSats?: number; readonly avoid?: readonly string[]; readonly signal?: AbortSignal } = {}): Promise<string> {
    const query = new URLSearchParams({
      async: '1',
      ...(options.priceSats === undefined ? {} : { price: String(options.priceSats) }),
      ...(options.avoid === undefined || options.avoid.length === 0 ? {} : { avoid: options.avoid.join(',') }),
    });
    const response = await this.call(
      `/buy/${article}?${query}`,
      { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Readable.toWeb(Readable.from(parts)) as ReadableStream, duplex: 'half' },
      options.signal,
    );
    if (response.status !== 202) throw await LocalApiClient.failure(response);
    return ((await response.json()) as { tradeId: string }).tradeId;
  }

  /** The trade's result within `timeoutSeconds`, or where it stands, or why it failed. */
  async result(tradeId: string, timeoutSeconds: number, signal?: AbortSignal): Promise<TradeResult> {
    const response = await this.call(`/trades/${encodeURIComponent(tradeId)}/result?timeout=${timeoutSeconds}`, { method: 'GET' }, signal);
    if (response.status === 200) return { kind: 'done', tradeId, bytes: new Uint8Array(await response.arrayBuffer()), seller: response.headers.get('x-bitwrk-seller') };
    if (response.status === 202) return { kind: 'pending', trade: (await response.json()) as TradeView };
    const failure = await LocalApiClient.failure(response);
    return { kind: 'failed', status: response.status, name: failure.errorName ?? 'error', message: failure.message, trade: failure.trade };
  }

  async trade(tradeId: string, signal?: AbortSignal): Promise<TradeView> {
    const response = await this.call(`/trades/${encodeURIComponent(tradeId)}`, { method: 'GET' }, signal);
    if (response.status !== 200) throw await LocalApiClient.failure(response);
    return (await response.json()) as TradeView;
  }

  /** Cancels a purchase; resolves to the daemon's refusal (e.g. 409 once a transaction binds it) or null. */
  async cancel(tradeId: string): Promise<LocalApiError | null> {
    const response = await this.call(`/trades/${encodeURIComponent(tradeId)}`, { method: 'DELETE' });
    if (response.status === 200) {
      await response.body?.cancel();
      return null;
    }
    return LocalApiClient.failure(response);
  }

  /** POST with a JSON body; the answer's JSON, or a LocalApiError with the daemon's reason. */
  private async postJson<T>(path: string, body: object): Promise<T> {
    const response = await this.call(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    if (response.status !== 200 && response.status !== 201) throw await LocalApiClient.failure(response);
    return (await response.json()) as T;
  }

  /** A deposit address for the daemon's account (docs/daemon.md, POST /account/deposit-address). */
  depositAddress(amountSats?: number): Promise<{ address: string; index: number; fresh: boolean; uri: string }> {
    return this.postJson('/account/deposit-address', amountSats === undefined ? {} : { amountSats });
  }

  /** A withdrawal; the same key and body again is the same withdrawal. */
  withdraw(key: string, destination: string, amountSats: number): Promise<{ withdrawalId: string; state: string; destination: string; amountSats: number; repeated: boolean }> {
    return this.postJson('/withdrawals', { key, destination, amountSats });
  }
}
