// A ChainBackend over Esplora's REST API (Blockstream's and mempool.space's servers, and the
// project's devnet, which serves the same API): https://github.com/Blockstream/esplora/blob/master/API.md
// Every answer is checked for the shape the API documents before it is used; anything else is
// a ChainBackendError naming the path, so a broken or hostile server cannot put nonsense into
// the ledger. Requests time out, and paymentsTo and unspentOf ask about a bounded number of
// addresses at once.
import { ChainBackendError, isHash64 } from './backend.js';
import type { ChainBackend, ChainBlockRef, ChainPayment, FeeEstimate, OutputSpender, TransactionStatus } from './backend.js';

export interface EsploraOptions {
  /** Per request (default 15 s). */
  readonly timeoutMs?: number;
  /** Addresses asked about in parallel (default 8). */
  readonly parallel?: number;
  /** Pages of 25 confirmed transactions read per address at most (default 40: 1,000 transactions). */
  readonly pagesMax?: number;
  readonly fetch?: typeof fetch;
}

/** Esplora returns at most this many confirmed transactions per page. */
const CHAIN_PAGE = 25;
const BODY_CHARS_MAX = 8 * 1024 * 1024;

interface EsploraStatus {
  readonly confirmed: boolean;
  readonly block_height?: number;
  readonly block_hash?: string;
}

interface EsploraTx {
  readonly txid: string;
  readonly vout: readonly { readonly scriptpubkey_address?: string; readonly value: number }[];
  readonly status: EsploraStatus;
}

export class EsploraBackend implements ChainBackend {
  readonly name: string;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly parallel: number;
  private readonly pagesMax: number;
  private readonly fetcher: typeof fetch;

  constructor(url: string, options: EsploraOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ChainBackendError(`not a URL: ${url}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ChainBackendError(`an Esplora URL is http(s), not ${parsed.protocol}`);
    this.base = parsed.href.replace(/\/+$/, '');
    this.name = `esplora ${this.base}`;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.parallel = options.parallel ?? 8;
    this.pagesMax = options.pagesMax ?? 40;
    this.fetcher = options.fetch ?? fetch;
  }

  async tip(): Promise<ChainBlockRef> {
    // The hash, then that block's height: two calls that cannot disagree if a block arrives between.
    const hash = (await this.text('/blocks/tip/hash')).trim();
    if (!isHash64(hash)) throw new ChainBackendError(`${this.name}/blocks/tip/hash: not a block hash`);
    const status = await this.json(`/block/${hash}/status`);
    const height = isObject(status) ? status['height'] : undefined;
    if (!isObject(status) || status['in_best_chain'] !== true || !isHeight(height)) {
      throw new ChainBackendError(`${this.name}/block/${hash}/status: not the status of a best-chain block`);
    }
    return { hash, height };
  }

  async paymentsTo(addresses: readonly string[]): Promise<ChainPayment[]> {
    const payments: ChainPayment[] = [];
    await this.eachAddress(addresses, async (address) => {
      for (const tx of await this.transactionsOf(address)) payments.push(...paymentsIn(tx, address));
    });
    return payments;
  }

  async unspentOf(addresses: readonly string[]): Promise<ChainPayment[]> {
    const unspent: ChainPayment[] = [];
    // Each address once: an output listed twice would be counted twice.
    await this.eachAddress([...new Set(addresses)], async (address) => {
      const path = `/address/${encodeURIComponent(address)}/utxo`;
      unspent.push(...utxoList(await this.json(path), `${this.name}${path}`, address));
    });
    return unspent;
  }

  async transactionStatus(txid: string): Promise<TransactionStatus> {
    if (!isHash64(txid)) throw new ChainBackendError(`not a txid: ${String(txid).slice(0, 80)}`);
    const path = `/tx/${txid}/status`;
    // 404: never seen, or replaced, conflicted or reorged out (electrs keeps no such transaction).
    const answer = await this.json(path, { notFound: null });
    if (answer === null) return { state: 'unknown' };
    const block = statusBlock(answer, `${this.name}${path}`);
    return block === null ? { state: 'mempool' } : { state: 'confirmed', block };
  }

  async spenderOf(txid: string, vout: number): Promise<OutputSpender> {
    if (!isHash64(txid)) throw new ChainBackendError(`not a txid: ${String(txid).slice(0, 80)}`);
    if (!Number.isSafeInteger(vout) || vout < 0 || vout > 0xffffffff) throw new ChainBackendError(`not an output index: ${String(vout)}`);
    const path = `/tx/${txid}/outspend/${vout}`;
    // electrs answers {spent: false} for an output it does not know; a 404 (the devnet's answer for
    // an unknown transaction) means the same: no such output, so nothing spends it.
    const answer = await this.json(path, { notFound: null });
    if (answer === null) return { spent: false };
    const where = `${this.name}${path}`;
    if (!isObject(answer) || typeof answer['spent'] !== 'boolean') throw new ChainBackendError(`${where}: not an outspend (no spent flag)`);
    if (!answer['spent']) return { spent: false };
    const vin = answer['vin'];
    if (!isHash64(answer['txid']) || !isWhole(vin)) throw new ChainBackendError(`${where}: a spent output without the spending txid and vin`);
    statusBlock(answer['status'], `${where}.status`);
    return { spent: true, txid: answer['txid'] };
  }

  /** Runs `ask` for each address, at most `parallel` at once. */
  private async eachAddress(addresses: readonly string[], ask: (address: string) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < addresses.length) await ask(addresses[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.parallel, addresses.length) }, worker));
  }

  /** Mempool and confirmed transactions touching the address, paging through the confirmed ones. */
  private async transactionsOf(address: string): Promise<EsploraTx[]> {
    const path = `/address/${encodeURIComponent(address)}/txs`;
    const first = txList(await this.json(path), `${this.name}${path}`);
    const all = [...first];
    let confirmed = first.filter((tx) => tx.status.confirmed);
    for (let page = 1; confirmed.length === CHAIN_PAGE && page < this.pagesMax; page++) {
      const chainPath = `/address/${encodeURIComponent(address)}/txs/chain/${confirmed[confirmed.length - 1]!.txid}`;
      confirmed = txList(await this.json(chainPath), `${this.name}${chainPath}`);
      all.push(...confirmed);
    }
    return all;
  }

  async blockInBestChain(hash: string): Promise<boolean> {
    if (!isHash64(hash)) throw new ChainBackendError(`not a block hash: ${String(hash).slice(0, 80)}`);
    const status = await this.json(`/block/${hash}/status`, { notFound: null });
    if (status === null) return false;
    if (!isObject(status) || typeof status['in_best_chain'] !== 'boolean') throw new ChainBackendError(`${this.name}/block/${hash}/status: no in_best_chain`);
    return status['in_best_chain'];
  }

  async feeEstimates(): Promise<FeeEstimate> {
    const answer = await this.json('/fee-estimates');
    if (!isObject(answer)) throw new ChainBackendError(`${this.name}/fee-estimates: not an object`);
    const estimates: Record<number, number> = {};
    for (const [target, rate] of Object.entries(answer)) {
      const blocks = Number(target);
      if (!Number.isSafeInteger(blocks) || blocks < 1 || typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) {
        throw new ChainBackendError(`${this.name}/fee-estimates: ${target} → ${String(rate)} is not a target and a fee rate`);
      }
      estimates[blocks] = rate;
    }
    return estimates;
  }

  async broadcast(rawHex: string): Promise<string> {
    if (!/^([0-9a-f]{2})+$/i.test(rawHex)) throw new ChainBackendError('a raw transaction is hex');
    const response = await this.request('/tx', { method: 'POST', body: rawHex, headers: { 'content-type': 'text/plain' } });
    const text = await boundedText(response);
    if (!response.ok) throw new ChainBackendError(`${this.name} refused the transaction: ${text.slice(0, 300)}`);
    const txid = text.trim();
    if (!isHash64(txid)) throw new ChainBackendError(`${this.name}/tx: the answer is not a txid`);
    return txid;
  }

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await this.fetcher(`${this.base}${path}`, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new ChainBackendError(`${this.name}${path}: ${(error as Error).message}`);
    }
  }

  private async text(path: string): Promise<string> {
    const response = await this.request(path);
    const text = await boundedText(response);
    if (!response.ok) throw new ChainBackendError(`${this.name}${path}: HTTP ${response.status} ${text.slice(0, 200)}`);
    return text;
  }

  private async json(path: string, options: { notFound?: null } = {}): Promise<unknown> {
    const response = await this.request(path);
    const text = await boundedText(response);
    if (response.status === 404 && 'notFound' in options) return null;
    if (!response.ok) throw new ChainBackendError(`${this.name}${path}: HTTP ${response.status} ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ChainBackendError(`${this.name}${path}: the answer is not JSON`);
    }
  }
}

async function boundedText(response: Response): Promise<string> {
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > BODY_CHARS_MAX) throw new ChainBackendError(`an answer of ${length} bytes is over the limit`);
  const text = await response.text();
  if (text.length > BODY_CHARS_MAX) throw new ChainBackendError(`an answer of ${text.length} characters is over the limit`);
  return text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHeight(value: unknown): value is number {
  return isWhole(value);
}

/** A whole, non-negative number: a height, an index, an amount of satoshis. */
function isWhole(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function txList(value: unknown, where: string): EsploraTx[] {
  if (!Array.isArray(value)) throw new ChainBackendError(`${where}: not a list of transactions`);
  return value.map((tx, index) => esploraTx(tx, `${where}[${index}]`));
}

/** A transaction status ({confirmed, block_height, block_hash}), checked: its block, or null when unconfirmed. */
function statusBlock(status: unknown, where: string): ChainBlockRef | null {
  if (!isObject(status)) throw new ChainBackendError(`${where}: not a transaction status`);
  if (typeof status['confirmed'] !== 'boolean') throw new ChainBackendError(`${where}: no confirmed flag`);
  if (!status['confirmed']) return null;
  const height = status['block_height'];
  const hash = status['block_hash'];
  if (!isHeight(height) || !isHash64(hash)) throw new ChainBackendError(`${where}: a confirmed transaction without its block`);
  return { height, hash };
}

/** GET /address/:address/utxo: [{txid, vout, value, status}], checked, as payments to `address`. */
function utxoList(value: unknown, where: string, address: string): ChainPayment[] {
  if (!Array.isArray(value)) throw new ChainBackendError(`${where}: not a list of unspent outputs`);
  return value.map((utxo: unknown, index) => {
    const at = `${where}[${index}]`;
    if (!isObject(utxo) || !isHash64(utxo['txid']) || !isWhole(utxo['vout'])) throw new ChainBackendError(`${at}: not an unspent output (txid, vout)`);
    const valueSats = utxo['value'];
    if (!isWhole(valueSats)) throw new ChainBackendError(`${at}: no whole, non-negative value`);
    return { txid: utxo['txid'], vout: utxo['vout'], address, valueSats, block: statusBlock(utxo['status'], `${at}.status`) };
  });
}

function esploraTx(value: unknown, where: string): EsploraTx {
  if (!isObject(value) || !isHash64(value['txid']) || !Array.isArray(value['vout']) || !isObject(value['status'])) {
    throw new ChainBackendError(`${where}: not an Esplora transaction (txid, vout, status)`);
  }
  const status = value['status'];
  statusBlock(status, `${where}.status`);
  const vout = value['vout'].map((output: unknown, index: number) => {
    if (!isObject(output) || !Number.isSafeInteger(output['value']) || (output['value'] as number) < 0) {
      throw new ChainBackendError(`${where}.vout[${index}]: no whole, non-negative value`);
    }
    const address = output['scriptpubkey_address'];
    return { value: output['value'] as number, ...(typeof address === 'string' ? { scriptpubkey_address: address } : {}) };
  });
  return { txid: value['txid'], vout, status: status as unknown as EsploraStatus };
}

function paymentsIn(tx: EsploraTx, address: string): ChainPayment[] {
  const block = tx.status.confirmed ? { height: tx.status.block_height!, hash: tx.status.block_hash! } : null;
  const payments: ChainPayment[] = [];
  tx.vout.forEach((output, vout) => {
    if (output.scriptpubkey_address === address) payments.push({ txid: tx.txid, vout, address, valueSats: output.value, block });
  });
  return payments;
}
