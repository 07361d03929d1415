// ChainBackend over Bitcoin Core's JSON-RPC (https://developer.bitcoin.org/reference/rpc/), with a
// watch-only descriptor wallet that holds the exchange's receive descriptor: the wallet finds the
// payments to deposit addresses, the node answers for the chain, the mempool and fees. Requests
// are JSON-RPC 1.0 POSTs with basic auth (user:password from the URL, or bitcoind's cookie file),
// wallet calls go to /wallet/NAME. Every answer is checked against the documented shape before it
// is used: a node that answers something else is a ChainBackendError saying what, never a guess.
import { readFile } from 'node:fs/promises';
import { ChainBackendError, isHash64, type ChainBackend, type ChainBlockRef, type ChainPayment, type FeeEstimate, type OutputSpender, type TransactionStatus } from './backend.js';

export interface BitcoinCoreOptions {
  /** The node's RPC address, e.g. http://user:password@127.0.0.1:8332 (credentials percent-encoded). */
  readonly url: string;
  /** The watch-only wallet's name: wallet calls go to /wallet/NAME. */
  readonly wallet: string;
  /** bitcoind's `.cookie` file: read at each request, since bitcoind writes a new one at each start. */
  readonly cookieFile?: string;
  /** How long one request may take; default 30 s. */
  readonly timeoutMs?: number;
  /**
   * listsinceblock lists from this block (a block before the wallet's first deposit, e.g. the tip
   * when the deposit key was made), or from genesis when absent. The same block every time, so
   * that each answer is complete: the port promises the backend's whole view, not news since last.
   */
  readonly sinceBlock?: string;
}

export interface WatchOptions {
  /** Addresses 0..rangeEnd of each ranged descriptor are watched; default 9999. */
  readonly rangeEnd?: number;
  /** Rescan from this UNIX time (seconds), or 'now' (the default) for a wallet made before any deposit. */
  readonly rescanSince?: number | 'now';
  /** importdescriptors rescans before it answers: give it longer than one ordinary request. */
  readonly timeoutMs?: number;
}

/** Bitcoin Core answered with a JSON-RPC error: its code and its message. */
export class BitcoinCoreRpcError extends ChainBackendError {
  constructor(readonly method: string, readonly code: number, readonly rpcMessage: string) {
    super(`bitcoin-core ${method}: ${rpcMessage} (RPC error ${code})`);
  }
}

/** RPC error codes we act on (bitcoin/src/rpc/protocol.h). */
const RPC_INVALID_ADDRESS_OR_KEY = -5; // "Block not found", "Transaction not in mempool", "Invalid or non-wallet transaction id"
const RPC_WALLET_NOT_FOUND = -18;
const RPC_WALLET_ALREADY_LOADED = -35;

const FEE_TARGETS = [1, 3, 6, 144] as const;
const SATS_PER_BTC = 100_000_000;
const MAX_MONEY_BTC = 21_000_000;
const DEFAULT_TIMEOUT_MS = 30_000;
/** listunspent's default maxconf: every confirmed output. */
const MAX_CONFIRMATIONS = 9_999_999;

type Json = Record<string, unknown>;

export class BitcoinCoreBackend implements ChainBackend {
  readonly name: string;
  private readonly root: string;
  private readonly walletUrl: string;
  private readonly credentials: string | undefined;
  private readonly timeoutMs: number;
  private nextId = 1;

  constructor(private readonly options: BitcoinCoreOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError('bitcoin-core: the RPC URL is not a URL'); // not Node's error: it carries the input, password and all
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`bitcoin-core: ${url.protocol} is not an http(s) URL`);
    // Credentials leave the URL here: fetch refuses URLs that carry them, and the name is logged.
    this.credentials = url.username === '' ? undefined : `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    if (this.credentials === undefined && options.cookieFile === undefined) throw new TypeError('bitcoin-core: give user:password in the URL or a cookie file');
    if (options.wallet === '') throw new TypeError('bitcoin-core: a wallet name is needed');
    if (options.sinceBlock !== undefined && !isHash64(options.sinceBlock)) throw new TypeError('bitcoin-core: sinceBlock is not a block hash');
    this.root = `${url.origin}/`;
    this.walletUrl = `${url.origin}/wallet/${encodeURIComponent(options.wallet)}`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.name = `bitcoin-core ${this.walletUrl}`;
  }

  /**
   * Makes sure the watch-only wallet exists, is loaded, holds no private key, and watches
   * `descriptors` (public, e.g. `wpkh(xpub…/0/*)`; a checksum is added). Safe to call at every start.
   */
  async ensureWatching(descriptors: readonly string[], options: WatchOptions = {}): Promise<void> {
    await this.loadOrCreateWallet();
    const info = object(await this.call('getwalletinfo', [], true), 'getwalletinfo');
    if (info.private_keys_enabled !== false) throw new ChainBackendError(`bitcoin-core: wallet ${this.options.wallet} can hold private keys; the exchange needs a watch-only wallet (disable_private_keys)`);
    if (info.descriptors !== true) throw new ChainBackendError(`bitcoin-core: wallet ${this.options.wallet} is not a descriptor wallet`);
    const requests: Json[] = [];
    for (const descriptor of descriptors) {
      const bare = descriptor.replace(/#[a-z0-9]{8}$/, '');
      const described = object(await this.call('getdescriptorinfo', [bare]), 'getdescriptorinfo');
      const checksum = described.checksum;
      if (typeof checksum !== 'string' || !/^[a-z0-9]{8}$/.test(checksum)) throw new ChainBackendError('bitcoin-core getdescriptorinfo: no 8-character checksum');
      if (described.hasprivatekeys !== false) throw new ChainBackendError('bitcoin-core: a descriptor with private keys is not imported into the watch-only wallet');
      const request: Json = { desc: `${bare}#${checksum}`, active: false, internal: false, timestamp: options.rescanSince ?? 'now' };
      if (described.isrange === true) request.range = [0, options.rangeEnd ?? 9_999];
      requests.push(request);
    }
    if (requests.length === 0) return;
    const results = array(await this.call('importdescriptors', [requests], true, options.timeoutMs), 'importdescriptors');
    if (results.length !== requests.length) throw new ChainBackendError(`bitcoin-core importdescriptors: ${results.length} results for ${requests.length} descriptors`);
    results.forEach((result, index) => {
      const entry = object(result, 'importdescriptors result');
      if (entry.success === true) return;
      const error = entry.error === undefined ? {} : object(entry.error, 'importdescriptors error');
      throw new ChainBackendError(`bitcoin-core importdescriptors refused ${String(requests[index]!.desc)}: ${typeof error.message === 'string' ? error.message : 'no reason given'}`);
    });
  }

  async tip(): Promise<ChainBlockRef> {
    const hash = hash64(await this.call('getbestblockhash', []), 'getbestblockhash');
    const header = await this.header(hash);
    return { height: header.height, hash };
  }

  async paymentsTo(addresses: readonly string[]): Promise<ChainPayment[]> {
    if (addresses.length === 0) return [];
    const watched = new Set(addresses);
    // Positional: blockhash ('' = all), target_confirmations, include_watchonly (ignored by new
    // nodes, needed by old ones), include_removed.
    const answer = object(await this.call('listsinceblock', [this.options.sinceBlock ?? '', 1, true, true], true), 'listsinceblock');
    const what = 'listsinceblock transaction';
    // Outputs of transactions a reorg took out; Core lists one that came back in the active chain
    // here as well, with its confirmations, which the check below lets through.
    const removed = new Set((answer.removed === undefined ? [] : array(answer.removed, 'listsinceblock removed')).map((entry) => output(object(entry, what), what).key));
    const payments = new Map<string, ChainPayment>();
    for (const item of array(answer.transactions, 'listsinceblock transactions')) {
      const entry = object(item, what);
      if (entry.category !== 'receive') continue; // send, or coinbase (generate, immature, orphan)
      if (typeof entry.address !== 'string' || !watched.has(entry.address)) continue;
      const confirmations = integer(entry.confirmations, `${what} confirmations`);
      if (confirmations < 0) continue; // conflicted: a transaction spending the same coins is in the chain
      const { txid, vout, key } = output(entry, what);
      if (removed.has(key) && confirmations < 1) continue;
      const block = confirmations === 0 ? null : { hash: hash64(entry.blockhash, `${what} blockhash`), height: integer(entry.blockheight, `${what} blockheight`) };
      payments.set(key, { txid, vout, address: entry.address, valueSats: btcToSats(entry.amount, `${what} amount`), block });
    }
    // The wallet keeps an unconfirmed transaction the mempool has dropped (replaced, expired,
    // evicted) and may not yet know it was replaced: only the mempool says it is still there.
    for (const txid of new Set([...payments.values()].filter((payment) => payment.block === null).map((payment) => payment.txid))) {
      if (await this.inMempool(txid)) continue;
      for (const [key, payment] of payments) if (payment.txid === txid) payments.delete(key);
    }
    return [...payments.values()];
  }

  async blockInBestChain(hash: string): Promise<boolean> {
    if (!isHash64(hash)) throw new RangeError(`not a block hash: ${hash}`);
    try {
      return (await this.header(hash)).confirmations >= 0; // -1: known, but not in the main chain
    } catch (error) {
      if (error instanceof BitcoinCoreRpcError && error.code === RPC_INVALID_ADDRESS_OR_KEY) return false;
      throw error;
    }
  }

  async feeEstimates(): Promise<FeeEstimate> {
    const estimates: Record<number, number> = {};
    for (const target of FEE_TARGETS) {
      const answer = object(await this.call('estimatesmartfee', [target]), 'estimatesmartfee');
      if (answer.errors !== undefined) array(answer.errors, 'estimatesmartfee errors');
      // No feerate (too little data, e.g. regtest or a fresh node): no estimate for that target.
      if (answer.feerate === undefined) continue;
      estimates[target] = btcToSats(answer.feerate, 'estimatesmartfee feerate') / 1000; // per kvB → per vB
    }
    return estimates;
  }

  async broadcast(rawHex: string): Promise<string> {
    return hash64(await this.call('sendrawtransaction', [rawHex]), 'sendrawtransaction');
  }

  async unspentOf(addresses: readonly string[]): Promise<ChainPayment[]> {
    // No address, no call: listunspent with an empty list would answer for the whole wallet.
    if (addresses.length === 0) return [];
    const asked = [...new Set(addresses)]; // Core refuses a duplicated address
    const watched = new Set(asked);
    // minconf, maxconf, addresses, include_unsafe (unconfirmed outputs paid by others: all of a
    // watch-only wallet's). Core leaves out outputs spent by a wallet transaction in the mempool,
    // those of conflicted transactions and unconfirmed ones the mempool does not hold.
    const answer = array(await this.call('listunspent', [0, MAX_CONFIRMATIONS, asked, true], true), 'listunspent');
    const what = 'listunspent entry';
    const entries = answer.map((item) => {
      const entry = object(item, what);
      const { txid, vout } = output(entry, what);
      if (typeof entry.address !== 'string' || !watched.has(entry.address)) throw new ChainBackendError(`bitcoin-core listunspent: an output paying ${kindOf(entry.address)}, which was not asked about`);
      const confirmations = integer(entry.confirmations, `${what} confirmations`);
      if (confirmations < 0) throw new ChainBackendError(`bitcoin-core ${what} confirmations: ${confirmations} is negative`);
      return { txid, vout, address: entry.address, valueSats: btcToSats(entry.amount, `${what} amount`), confirmations };
    });
    // listunspent gives no block: the wallet's transaction does (blockhash and blockheight, as
    // listsinceblock gives them to paymentsTo), one gettransaction per confirmed transaction.
    const blocks = new Map<string, ChainBlockRef>();
    for (const txid of new Set(entries.filter((entry) => entry.confirmations > 0).map((entry) => entry.txid))) {
      const { block } = await this.walletTransaction(txid);
      // A reorg between the two calls: this answer would mix two views of the chain.
      if (block === null) throw new ChainBackendError(`bitcoin-core: ${txid} left the best chain while its outputs were listed; ask again`);
      blocks.set(txid, block);
    }
    return entries.map(({ confirmations, ...payment }) => ({ ...payment, block: confirmations === 0 ? null : blocks.get(payment.txid)! }));
  }

  async transactionStatus(txid: string): Promise<TransactionStatus> {
    if (!isHash64(txid)) throw new RangeError(`not a txid: ${txid}`);
    let found: { readonly confirmations: number; readonly block: ChainBlockRef | null };
    try {
      found = await this.walletTransaction(txid);
    } catch (error) {
      // Not a wallet transaction: the wallet never saw it (Core can say nothing more without txindex).
      if (error instanceof BitcoinCoreRpcError && error.code === RPC_INVALID_ADDRESS_OR_KEY) return { state: 'unknown' };
      throw error;
    }
    if (found.block !== null) return { state: 'confirmed', block: found.block };
    // Negative: conflicted, a transaction spending the same coins is in the chain.
    if (found.confirmations < 0) return { state: 'unknown' };
    // Unconfirmed in the wallet, which keeps what the mempool has dropped (replaced, expired,
    // evicted): only the mempool says whether it is still there.
    return (await this.inMempool(txid)) ? { state: 'mempool' } : { state: 'unknown' };
  }

  async spenderOf(txid: string, vout: number): Promise<OutputSpender> {
    if (!isHash64(txid)) throw new RangeError(`not a txid: ${txid}`);
    if (!Number.isSafeInteger(vout) || vout < 0 || vout > 0xffffffff) throw new RangeError(`not an output index: ${vout}`);
    // txid, n, include_mempool: an output spent by a mempool transaction is null too.
    const answer = await this.call('gettxout', [txid, vout, true]);
    if (answer !== null) {
      const unspent = object(answer, 'gettxout');
      hash64(unspent.bestblock, 'gettxout bestblock');
      integer(unspent.confirmations, 'gettxout confirmations');
      btcToSats(unspent.value, 'gettxout value');
      object(unspent.scriptPubKey, 'gettxout scriptPubKey');
      return { spent: false };
    }
    // Null: spent, or no such output. A transaction the backend does not know (never seen, replaced,
    // conflicted) has no outputs to spend; Core cannot say by whom without an index.
    if ((await this.transactionStatus(txid)).state === 'unknown') return { spent: false };
    return { spent: true, txid: null };
  }

  /**
   * A wallet transaction's confirmations, and its best-chain block (gettransaction's blockhash
   * and blockheight) when it has one: null while unconfirmed (0) or conflicted (negative). Throws
   * Core's RPC error −5 for a transaction the wallet does not hold.
   */
  private async walletTransaction(txid: string): Promise<{ readonly confirmations: number; readonly block: ChainBlockRef | null }> {
    const what = 'gettransaction';
    const entry = object(await this.call('gettransaction', [txid, true], true), what); // include_watchonly, for old nodes
    if (entry.txid !== txid) throw new ChainBackendError(`bitcoin-core gettransaction: asked for ${txid}, got ${kindOf(entry.txid)}`);
    const confirmations = integer(entry.confirmations, `${what} confirmations`);
    if (confirmations < 1) return { confirmations, block: null };
    return { confirmations, block: { hash: hash64(entry.blockhash, `${what} blockhash`), height: integer(entry.blockheight, `${what} blockheight`) } };
  }

  private async loadOrCreateWallet(): Promise<void> {
    try {
      await this.call('loadwallet', [this.options.wallet]);
    } catch (error) {
      if (error instanceof BitcoinCoreRpcError && error.code === RPC_WALLET_ALREADY_LOADED) return;
      if (!(error instanceof BitcoinCoreRpcError && error.code === RPC_WALLET_NOT_FOUND)) throw error;
      // wallet_name, disable_private_keys, blank, passphrase, avoid_reuse, descriptors, load_on_startup
      await this.call('createwallet', [this.options.wallet, true, true, '', false, true, true]);
    }
  }

  private async header(hash: string): Promise<{ readonly height: number; readonly confirmations: number }> {
    const header = object(await this.call('getblockheader', [hash, true]), 'getblockheader');
    if (header.hash !== hash) throw new ChainBackendError(`bitcoin-core getblockheader: asked for ${hash}, got ${String(header.hash)}`);
    return { height: integer(header.height, 'getblockheader height'), confirmations: integer(header.confirmations, 'getblockheader confirmations') };
  }

  private async inMempool(txid: string): Promise<boolean> {
    try {
      object(await this.call('getmempoolentry', [txid]), 'getmempoolentry');
      return true;
    } catch (error) {
      if (error instanceof BitcoinCoreRpcError && error.code === RPC_INVALID_ADDRESS_OR_KEY) return false;
      throw error;
    }
  }

  /** One JSON-RPC 1.0 call; the result, or a BitcoinCoreRpcError with Core's message. */
  private async call(method: string, params: readonly unknown[], wallet = false, timeoutMs = this.timeoutMs): Promise<unknown> {
    const id = this.nextId++;
    const credentials = this.credentials ?? (await this.cookie());
    let status: number;
    let text: string;
    try {
      const response = await fetch(wallet ? this.walletUrl : this.root, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: `Basic ${Buffer.from(credentials).toString('base64')}` },
        body: JSON.stringify({ jsonrpc: '1.0', id, method, params }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describe(error);
      throw new ChainBackendError(`bitcoin-core ${method}: ${reason}`);
    }
    if (status === 401) throw new ChainBackendError(`bitcoin-core ${method}: the node refused the credentials (HTTP 401); check the RPC user and password or the cookie file`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ChainBackendError(`bitcoin-core ${method}: HTTP ${status}, and the body is not JSON`);
    }
    const reply = object(body, `${method} reply`);
    if (reply.id !== id) throw new ChainBackendError(`bitcoin-core ${method}: the reply's id ${JSON.stringify(reply.id)} is not the request's ${id}`);
    if (reply.error !== null && reply.error !== undefined) {
      const error = object(reply.error, `${method} error`);
      if (typeof error.code !== 'number' || typeof error.message !== 'string') throw new ChainBackendError(`bitcoin-core ${method}: an error without a code and a message`);
      throw new BitcoinCoreRpcError(method, error.code, error.message);
    }
    if (status !== 200) throw new ChainBackendError(`bitcoin-core ${method}: HTTP ${status} without an error`);
    if (!('result' in reply)) throw new ChainBackendError(`bitcoin-core ${method}: a reply without a result`);
    return reply.result;
  }

  private async cookie(): Promise<string> {
    const path = this.options.cookieFile!;
    try {
      return (await readFile(path, 'utf8')).trim(); // "__cookie__:<hex>"
    } catch (error) {
      throw new ChainBackendError(`bitcoin-core: cannot read the cookie file ${path}: ${describe(error)}`);
    }
  }
}

/**
 * Integer satoshis from a BTC amount as Core prints it: a JSON number with at most 8 decimal places.
 * JSON.parse gave the double nearest that decimal; up to 21e6 BTC doubles are finer than half a
 * satoshi, so toFixed(8) gives the decimal back, and a value that does not survive the round trip
 * had more places than a satoshi. Throws ChainBackendError for anything else.
 */
export function btcToSats(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_MONEY_BTC) throw new ChainBackendError(`bitcoin-core ${what}: ${kindOf(value)} is not an amount of 0 to 21 million BTC`);
  const text = value.toFixed(8);
  if (Number(text) !== value) throw new ChainBackendError(`bitcoin-core ${what}: ${value} has more than 8 decimal places`);
  const [whole, fraction] = text.split('.') as [string, string];
  return Number(whole) * SATS_PER_BTC + Number(fraction);
}

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ChainBackendError(`bitcoin-core ${what}: expected an object, got ${kindOf(value)}`);
  return value as Json;
}

function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ChainBackendError(`bitcoin-core ${what}: expected an array, got ${kindOf(value)}`);
  return value;
}

function integer(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value)) throw new ChainBackendError(`bitcoin-core ${what}: expected an integer, got ${kindOf(value)}`);
  return value as number;
}

function hash64(value: unknown, what: string): string {
  if (!isHash64(value)) throw new ChainBackendError(`bitcoin-core ${what}: expected a 64-character hex hash, got ${kindOf(value)}`);
  return value;
}

/** An entry's output, checked: txid, vout, and the two as one key. */
function output(entry: Json, what: string): { readonly txid: string; readonly vout: number; readonly key: string } {
  const txid = hash64(entry.txid, `${what} txid`);
  const vout = integer(entry.vout, `${what} vout`);
  if (vout < 0) throw new ChainBackendError(`bitcoin-core ${what} vout: ${vout} is negative`);
  return { txid, vout, key: `${txid}:${vout}` };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 80 ? `${value.slice(0, 80)}…` : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch says "fetch failed" and puts the reason (ECONNREFUSED, …) in its cause.
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}
