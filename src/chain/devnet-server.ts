// Serves a devnet over HTTP on loopback with Esplora's REST API (Blockstream/esplora API.md; shapes
// and status codes as electrs answers them), so the exchange's Esplora adapter, or any Esplora
// client, runs against it unmodified; plus devnet-only control endpoints under /devnet/ (mine, pay
// from the faucet, invalidate a block). Every parameter is checked before use, bodies are bounded,
// and a hostile request gets a 4xx answer: nothing a client sends stops the server.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hex } from '@scure/base';
import { encodeHeader } from './devnet-block.js';
import { esploraBlock, esploraBlockStatus, esploraOutspend, esploraStatus, esploraTx, esploraUtxo } from './devnet-esplora.js';
import { DevnetRefusal, refuse, type DevnetRefusalCode } from './devnet-tx.js';
import type { Devnet } from './devnet.js';

export interface DevnetServerOptions {
  readonly devnet: Devnet;
  /** Loopback only: 127.0.0.1 (default), ::1 or localhost. */
  readonly host?: string;
  /** Default 0: a free port, reported in `port` and `url`. */
  readonly port?: number;
}

export interface DevnetServer {
  /** Base URL of the Esplora API, e.g. http://127.0.0.1:43125 (no trailing slash). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', '::1', 'localhost'];
/** electrs's MAX_BODY_SIZE: room for a standard transaction's hex (400,000 weight units) twice over. */
const BODY_BYTES_MAX = 1_000_000;
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;
const CONNECTIONS_MAX = 512;
/** Blocks one POST /devnet/mine may ask for. */
const MINE_REQUEST_BLOCKS_MAX = 1_000;
const PATH_SEGMENTS_MAX = 6;
const HASH = /^[0-9a-fA-F]{64}$/;

interface Reply {
  readonly status: number;
  readonly type: 'text/plain' | 'application/json' | 'application/octet-stream';
  readonly body: string | Uint8Array;
}

export async function startDevnetServer(options: DevnetServerOptions): Promise<DevnetServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.includes(host)) throw new RangeError(`the devnet serves loopback only (${LOOPBACK_HOSTS.join(', ')}), not ${host}`);
  const port = options.port ?? 0;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new RangeError(`"port" expected 0..65535, got ${port}`);
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS, maxHeaderSize: 16 * 1024, keepAliveTimeout: 5_000 }, (request, response) => {
    serve(options.devnet, request, response);
  });
  server.maxConnections = CONNECTIONS_MAX;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    host,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

function serve(devnet: Devnet, request: IncomingMessage, response: ServerResponse): void {
  readBody(request, (body) => {
    let reply: Reply;
    if (body === null) reply = text(413, 'Request body too large');
    else {
      try {
        reply = route(devnet, request.method ?? 'GET', request.url ?? '/', body);
      } catch (error) {
        reply = error instanceof DevnetRefusal ? text(400, error.message) : text(500, 'Internal server error');
      }
    }
    response.writeHead(reply.status, { 'Content-Type': reply.type, 'Content-Length': typeof reply.body === 'string' ? Buffer.byteLength(reply.body) : reply.body.length });
    response.end(reply.body);
  });
}

/** Collects the body up to BODY_BYTES_MAX; past it answers null once and lets the rest drain (bounded by the request timeout). */
function readBody(request: IncomingMessage, done: (body: Uint8Array | null) => void): void {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > BODY_BYTES_MAX) {
    request.resume();
    done(null);
    return;
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  let finished = false;
  request.on('data', (chunk: Buffer) => {
    if (finished) return;
    bytes += chunk.length;
    if (bytes <= BODY_BYTES_MAX) chunks.push(chunk);
    else {
      finished = true;
      chunks.length = 0;
      done(null);
    }
  });
  request.on('end', () => {
    if (finished) return;
    finished = true;
    done(Buffer.concat(chunks));
  });
  request.on('error', () => {
    finished = true; // the client went away mid-request: there is no one to answer
  });
}

/** Answers one request; throws DevnetRefusal for anything the client got wrong (answered with 400). */
function route(devnet: Devnet, method: string, rawUrl: string, body: Uint8Array): Reply {
  let path: string;
  try {
    path = new URL(rawUrl, 'http://devnet').pathname;
  } catch {
    return text(400, 'Invalid URL');
  }
  const parts = path.split('/').slice(1);
  if (parts.length > PATH_SEGMENTS_MAX) return notFound(path);
  const [first, second, third] = parts;
  if (method === 'POST') return post(devnet, parts, body, path);
  if (method !== 'GET') return notFound(path);
  switch (first) {
    case 'blocks':
      if (second === 'tip' && third === 'height' && parts.length === 3) return text(200, String(devnet.tip().height));
      if (second === 'tip' && third === 'hash' && parts.length === 3) return text(200, devnet.tip().hash);
      return notFound(path);
    case 'block-height': {
      if (parts.length !== 2) return notFound(path);
      if (!/^\d{1,10}$/.test(second!)) return text(400, 'Invalid height');
      const hash = devnet.blockHash(Number(second));
      return hash === undefined ? text(404, 'Block not found') : text(200, hash);
    }
    case 'block':
      return blockRoute(devnet, parts, path);
    case 'tx':
      return txRoute(devnet, parts, path);
    case 'address':
      return addressRoute(devnet, parts, path);
    case 'mempool':
      return second === 'txids' && parts.length === 2 ? json(devnet.mempoolTxids()) : notFound(path);
    case 'fee-estimates':
      return parts.length === 1 ? json(devnet.feeEstimates()) : notFound(path);
    default:
      return notFound(path);
  }
}

function blockRoute(devnet: Devnet, parts: readonly string[], path: string): Reply {
  const hash = hashParameter(parts[1]);
  const what = parts[2];
  if (what === 'status' && parts.length === 3) return json(esploraBlockStatus(devnet.blockStatus(hash)));
  const block = devnet.block(hash);
  if (parts.length === 2) return block === undefined ? text(404, 'Block not found') : json(esploraBlock(block));
  if (parts.length !== 3) return notFound(path);
  if (block === undefined) return text(404, 'Block not found');
  if (what === 'txids') return json(block.txids);
  if (what === 'header') return text(200, hex.encode(encodeHeader({ version: block.version, prevHash: block.prevHash ?? '00'.repeat(32), merkleRoot: block.merkleRoot, time: block.time, bits: block.bits, nonce: block.nonce })));
  if (what === 'raw') return { status: 200, type: 'application/octet-stream', body: devnet.rawBlock(hash)! };
  return notFound(path);
}

function txRoute(devnet: Devnet, parts: readonly string[], path: string): Reply {
  const txid = hashParameter(parts[1]);
  const what = parts[2];
  const view = devnet.transaction(txid);
  if (parts.length > 4 || (parts.length === 4 && what !== 'outspend')) return notFound(path);
  if (view === undefined) return text(404, 'Transaction not found');
  if (parts.length === 2) return json(esploraTx(view));
  switch (what) {
    case 'status':
      return json(esploraStatus(view.status));
    case 'hex':
      return text(200, hex.encode(view.tx.raw));
    case 'raw':
      return { status: 200, type: 'application/octet-stream', body: view.tx.raw };
    case 'outspends':
      return json(devnet.outspends(txid)!.map(esploraOutspend));
    case 'outspend': {
      const index = parts[3];
      if (index === undefined || !/^\d{1,10}$/.test(index)) return text(400, 'Invalid output index');
      const outspend = devnet.outspends(txid)![Number(index)];
      return json(outspend === undefined ? { spent: false } : esploraOutspend(outspend));
    }
    default:
      return notFound(path);
  }
}

function addressRoute(devnet: Devnet, parts: readonly string[], path: string): Reply {
  const address = parts[1] ?? '';
  const [, , what, which, last] = parts;
  if (what === 'utxo' && parts.length === 3) return json(devnet.addressUtxos(address).map(esploraUtxo));
  if (what !== 'txs') return notFound(path);
  if (parts.length === 3) return json(devnet.addressTransactions(address).map(esploraTx));
  if (which === 'mempool' && parts.length === 4) return json(devnet.addressMempoolTransactions(address, 50).map(esploraTx));
  if (which === 'chain' && parts.length === 4) return json(devnet.addressChainTransactions(address, { limit: 25 }).map(esploraTx));
  if (which === 'chain' && parts.length === 5) return json(devnet.addressChainTransactions(address, { afterTxid: hashParameter(last), limit: 25 }).map(esploraTx));
  return notFound(path);
}

function post(devnet: Devnet, parts: readonly string[], body: Uint8Array, path: string): Reply {
  if (parts.length === 1 && parts[0] === 'tx') return broadcast(devnet, body);
  if (parts.length !== 2 || parts[0] !== 'devnet') return notFound(path);
  const request = jsonObject(body);
  switch (parts[1]) {
    case 'mine': {
      onlyKeys(request, ['blocks', 'address']);
      const blocks = request.blocks === undefined ? 1 : wholeNumber(request.blocks, 'blocks', 1, MINE_REQUEST_BLOCKS_MAX);
      const address = optionalString(request.address, 'address');
      return json({ hashes: devnet.mine(blocks, address === undefined ? {} : { address }) });
    }
    case 'faucet': {
      onlyKeys(request, ['address', 'amountSats', 'feeRateSatVb']);
      const address = optionalString(request.address, 'address') ?? refuse('bad-request', '"address" is required');
      const amountSats = wholeNumber(request.amountSats, 'amountSats', 1, Number.MAX_SAFE_INTEGER);
      const feeRateSatVb = request.feeRateSatVb === undefined ? undefined : typeof request.feeRateSatVb === 'number' ? request.feeRateSatVb : refuse('bad-request', '"feeRateSatVb" expected a number');
      return json({ txid: devnet.faucet.pay(address, amountSats, feeRateSatVb === undefined ? {} : { feeRateSatVb }) });
    }
    case 'invalidate': {
      onlyKeys(request, ['hash']);
      return json(devnet.invalidate(hashParameter(optionalString(request.hash, 'hash'))));
    }
    default:
      return notFound(path);
  }
}

/** POST /tx: the raw hex in, the txid out; a refusal reads as Bitcoin Core's RPC error through electrs. */
function broadcast(devnet: Devnet, body: Uint8Array): Reply {
  let hexText: string;
  try {
    hexText = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return text(400, 'sendrawtransaction RPC error: {"code":-22,"message":"TX decode failed"}');
  }
  try {
    return text(200, devnet.broadcast(hexText));
  } catch (error) {
    if (!(error instanceof DevnetRefusal)) throw error;
    return text(400, `sendrawtransaction RPC error: ${JSON.stringify({ code: rpcCode(error.code), message: error.message })}`);
  }
}

/** Bitcoin Core's RPC error codes for a refused transaction. */
function rpcCode(code: DevnetRefusalCode): number {
  if (code === 'decode') return -22; // RPC_DESERIALIZATION_ERROR
  if (code === 'missing-inputs' || code === 'double-spend') return -25; // RPC_VERIFY_ERROR
  if (code === 'duplicate') return -27; // RPC_VERIFY_ALREADY_IN_CHAIN
  return -26; // RPC_VERIFY_REJECTED
}

function hashParameter(value: string | undefined): string {
  if (value === undefined || !HASH.test(value)) return refuse('bad-request', 'Invalid hex string: expected 64 hex characters');
  return value.toLowerCase();
}

function jsonObject(body: Uint8Array): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.length === 0 ? new TextEncoder().encode('{}') : body));
  } catch {
    return refuse('bad-request', 'the body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) refuse('bad-request', 'the body is not a JSON object');
  return parsed as Record<string, unknown>;
}

function onlyKeys(request: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(request)) if (!allowed.includes(key)) refuse('bad-request', `unexpected field "${key.slice(0, 64)}"; expected ${allowed.join(', ')}`);
}

function wholeNumber(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) return refuse('bad-request', `"${name}" expected a whole number in ${min}..${max}`);
  return value;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 200) return refuse('bad-request', `"${name}" expected a string`);
  return value;
}

function text(status: number, body: string): Reply {
  return { status, type: 'text/plain', body };
}

function json(value: unknown): Reply {
  return { status: 200, type: 'application/json', body: JSON.stringify(value) };
}

function notFound(path: string): Reply {
  return text(404, `endpoint does not exist ${JSON.stringify(path.slice(0, 200))}`);
}
