// The daemon's local HTTP API (docs/daemon.md): programs buy work through it, worker programs
// register with it, the user grants and revokes mandates and watches trades. It listens on
// loopback by default. Who may call it is decided in api-access.ts: the daemon's own Host and
// Origin only, and the API token for every change and for every caller from another machine.
// Bad input gets 4xx with `{ error: { name, message } }` and changes nothing.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import polka, { type Polka } from 'polka';
import { z } from 'zod';
import { renderSVG } from 'uqr';
import { importFile, readFile } from '../cafs/files.js';
import { ARTICLE_ID_PATTERN } from '../market/articles.js';
import { AVOID_SELLERS_MAX, MONEY_SATS_MAX } from '../market/limits.js';
import { parseAddress } from '../crypto/address.js';
import type { ArticleSpec } from '../market/articles.js';
import { buyPhase } from '../machines/trade-phases.js';
import { ProtocolError } from '../transport/errors.js';
import type { BuyActor } from './buyer.js';
import type { Daemon } from './daemon.js';
import { checkAccess, type AccessPolicy } from './api-access.js';
import { MANDATES_MAX, mandateRequest, type MandateRequest } from './mandates.js';
import { WORKERS_MAX, workerRegistration } from './workers.js';

/** Largest work a program may post (CAFS would take more; this is what one trade should carry). */
export const WORK_BYTES_MAX = 1024 * 1024 * 1024;
const JSON_BODY_BYTES_MAX = 64 * 1024;
/** Longest a buy request may wait for permission. */
const WAIT_SECONDS_MAX = 3600;
/** The longest a blocking purchase may be told to wait for its end before answering 202. */
const TIMEOUT_SECONDS_MAX = 24 * 3600;

type Request = IncomingMessage & { params: Record<string, string>; query: Record<string, string | string[]>; path: string };

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return void response.destroy();
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function fail(response: ServerResponse, error: unknown): void {
  if (error instanceof HttpError) return send(response, error.status, { error: { name: error.errorName, message: error.message } });
  // The exchange went away while it was asked: say so, as the up-front check would have.
  if (error instanceof ProtocolError && UNREACHABLE_ERRORS.has(error.errorName)) return send(response, 503, { error: { name: 'exchange_unreachable', message: `the exchange did not answer: ${error.message}` } });
  send(response, 500, { error: { name: 'internal', message: (error as Error).message } });
}

/** Transport errors that mean "no answer from the exchange", not "the exchange said no". */
const UNREACHABLE_ERRORS = new Set(['request_timeout', 'connection_closed', 'server_busy']);

/** Refuses at once, without waiting for a reconnect, what needs the exchange while it is down. */
function requireExchange(daemon: Daemon): void {
  const state = daemon.link.connection.state;
  if (state !== 'open') throw new HttpError(503, 'exchange_unreachable', `the exchange at ${daemon.options.exchangeUrl} is unreachable (${state}); trades carry on when it is back`);
}

/** The exchange's article `articleId`, or 404. */
function articleOf(daemon: Daemon, articleId: string): ArticleSpec {
  const spec = daemon.link.info.articles.find((article) => article.articleId === articleId);
  if (spec === undefined) throw new HttpError(404, 'article_unknown', `the exchange does not trade ${articleId}`);
  return spec;
}

/** A mandate the exchange would refuse every bid of is refused here, with the article's bounds. */
function checkMandate(daemon: Daemon, request: MandateRequest): void {
  const spec = articleOf(daemon, request.article);
  if (request.priceSats < spec.priceSatsMin || request.priceSats > spec.priceSatsMax) {
    throw new HttpError(400, 'price_out_of_range', `a price for ${request.article} is between ${spec.priceSatsMin} and ${spec.priceSatsMax} sat, got ${request.priceSats}`);
  }
}

/** A single query parameter (repeats are refused: which one would count?). */
function queryValue(request: Request, name: string): string | undefined {
  const value = request.query[name];
  if (Array.isArray(value)) throw new HttpError(400, 'invalid_query', `query parameter "${name}" appears more than once`);
  return value;
}

function integerQuery(request: Request, name: string, range: { min: number; max: number }): number | undefined {
  const raw = queryValue(request, name);
  if (raw === undefined) return undefined;
  if (!/^\d{1,16}$/.test(raw)) throw new HttpError(400, 'invalid_query', `query parameter "${name}": expected a whole number, got "${raw.slice(0, 40)}"`);
  const value = Number(raw);
  if (value < range.min || value > range.max) throw new HttpError(400, 'invalid_query', `query parameter "${name}" must be between ${range.min} and ${range.max}`);
  return value;
}

/** `?avoid=ADDR,ADDR`: sellers a purchase must not go to (at most AVOID_SELLERS_MAX addresses). */
function avoidQuery(request: Request): string[] | undefined {
  const raw = queryValue(request, 'avoid');
  if (raw === undefined || raw === '') return undefined;
  const sellers = [...new Set(raw.split(','))];
  if (sellers.length > AVOID_SELLERS_MAX) throw new HttpError(400, 'invalid_query', `query parameter "avoid" names at most ${AVOID_SELLERS_MAX} sellers, got ${sellers.length}`);
  for (const seller of sellers) {
    const parsed = parseAddress(seller);
    if (!parsed.ok) throw new HttpError(400, 'invalid_query', `query parameter "avoid": "${seller.slice(0, 40)}" is not an address (${parsed.detail})`);
  }
  return sellers;
}

async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of request as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > limit) throw new HttpError(413, 'body_too_large', `the body exceeds ${limit} bytes`);
    parts.push(part);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** A JSON body (the access check has made sure of its content type), checked by `schema`. */
const withdrawalRequest = z.object({
  destination: z.string().min(1).max(200),
  amountSats: z.number().int().positive().max(MONEY_SATS_MAX),
  /** The caller's idempotency key: a retry with the same key and body is the same withdrawal. */
  key: z.string().regex(/^[A-Za-z0-9:_.-]{1,100}$/, 'letters, digits and :_.- only, at most 100'),
}).strict();

const depositAddressRequest = z.object({ amountSats: z.number().int().positive().max(MONEY_SATS_MAX).optional() }).strict();

async function parseBody<S extends z.ZodType>(request: IncomingMessage, schema: S): Promise<z.output<S>> {
  const text = await readBody(request, JSON_BODY_BYTES_MAX);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HttpError(400, 'invalid_body', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}

/** The endpoints whose body is JSON (the others take raw work, or nothing). */
const JSON_ENDPOINTS = new Set(['POST /mandates', 'POST /workers', 'POST /account/deposit-address', 'POST /withdrawals']);

function tradeView(daemon: Daemon, actor: BuyActor | { side: string; tradeId: string; isFinal: boolean; state: { value: string; context: object } }): Record<string, unknown> {
  // `deal` is null until matched (and in trades saved before it existed).
  const view: Record<string, unknown> = { tradeId: actor.tradeId, side: actor.side, state: actor.state.value, deal: null, ...actor.state.context };
  if (actor.side === 'buy') view['workSent'] = daemon.buyer.workSentOf(actor.tradeId) ?? null;
  return view;
}

/** The API; `access` gives the policy once the server listens (its port is known then). */
export function createLocalApi(daemon: Daemon, access: () => AccessPolicy): Polka {
  const app = polka({ onError: (error, _request, response) => fail(response as ServerResponse, error), onNoMatch: (_request, response) => fail(response, new HttpError(404, 'not_found', 'no such endpoint (see docs/daemon.md)')) });
  app.use((request, response, next) => {
    const method = request.method ?? 'GET';
    const refusal = checkAccess(access(), {
      method,
      host: request.headers.host,
      origin: request.headers.origin,
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
      remoteAddress: request.socket.remoteAddress,
      json: JSON_ENDPOINTS.has(`${method} ${request.path}`),
    });
    if (refusal === undefined) return next();
    // The body is not read: close after answering, so an unread upload does not linger.
    response.setHeader('connection', 'close');
    send(response, refusal.status, { error: { name: refusal.name, message: refusal.message } });
  });
  const route = (handler: (request: Request, response: ServerResponse) => Promise<void> | void) => (request: IncomingMessage, response: ServerResponse) => {
    Promise.resolve()
      .then(() => handler(request as Request, response))
      .catch((error: unknown) => fail(response, error));
  };

  app.get('/', route((_request, response) => sendPageFile(response, 'index.html')));
  app.get('/ui/:name', route((request, response) => sendPageFile(response, request.params['name'] ?? '')));
  app.get('/id', route((_request, response) => void response.writeHead(200, { 'content-type': 'text/plain' }).end('BitWrk daemon')));
  app.get('/info', route((_request, response) => send(response, 200, daemon.info())));
  app.get('/account', route(async (_request, response) => {
    requireExchange(daemon);
    const address = daemon.identity.address;
    // The balance with this participant's public counts (how its sales and purchases ended).
    const [account, reputation] = await Promise.all([daemon.link.connection.request('account', { address }), daemon.link.connection.request('reputation', { address })]);
    send(response, 200, { ...account, sales: reputation.sales, purchases: reputation.purchases });
  }));

  // A deposit address of the exchange's wallet for this account, with its BIP21 URI and a QR code of it.
  app.post('/account/deposit-address', route(async (request, response) => {
    requireExchange(daemon);
    const body = await parseBody(request, depositAddressRequest);
    const answer = await daemon.link.client.requestDepositAddress(body.amountSats).catch((error: unknown) => {
      if (error instanceof ProtocolError && !UNREACHABLE_ERRORS.has(error.errorName)) throw new HttpError(error.errorName === 'deposits_disabled' ? 409 : 400, error.errorName, error.message);
      throw error;
    });
    send(response, 200, { ...answer, qrSvg: renderSVG(answer.uri) });
  }));

  // A withdrawal from this account to an address of the user's; `key` makes a retry the same withdrawal.
  app.post('/withdrawals', route(async (request, response) => {
    requireExchange(daemon);
    const body = await parseBody(request, withdrawalRequest);
    const answer = await daemon.link.client.requestWithdrawal(body.key, body.destination, body.amountSats).catch((error: unknown) => {
      if (error instanceof ProtocolError && !UNREACHABLE_ERRORS.has(error.errorName)) throw new HttpError(400, error.errorName, error.message);
      throw error;
    });
    send(response, answer.repeated ? 200 : 201, answer);
  }));

  // The article's book (price levels of buy and sell bids): whether anyone sells it, and at what.
  app.get('/depth/*', route(async (request, response) => {
    requireExchange(daemon);
    const article = request.params['*'] ?? '';
    const depth = await daemon.link.connection.request('depth', { article, levels: 20 }).catch((error: unknown) => {
      // The exchange refused the question (not an article it knows, say): the caller's mistake.
      if (error instanceof ProtocolError && !UNREACHABLE_ERRORS.has(error.errorName)) throw new HttpError(400, error.errorName, error.message);
      throw error;
    });
    send(response, 200, depth);
  }));
  app.post('/buy/*', route(async (request, response) => buy(daemon, request, response)));
  app.get('/trades', route((_request, response) => send(response, 200, daemon.trades().map((trade) => tradeView(daemon, trade)))));
  app.get('/trades/:id', route((request, response) => send(response, 200, tradeView(daemon, tradeOf(daemon, request)))));
  app.delete('/trades/:id', route(async (request, response) => {
    const actor = tradeOf(daemon, request);
    if (actor.side !== 'buy') throw new HttpError(400, 'not_a_buy', `${actor.tradeId} is a sale: remove its worker (DELETE /workers/ID) to withdraw it`);
    // Its bid can be withdrawn only on the exchange.
    if (actor.state.value === 'bidding' || actor.state.value === 'bidPlaced') requireExchange(daemon);
    const refusal = await daemon.buyer.cancel(actor.tradeId);
    if (refusal !== undefined) throw new HttpError(409, 'not_cancellable', refusal);
    send(response, 200, tradeView(daemon, actor));
  }));
  app.get('/trades/:id/result', route(async (request, response) => {
    const actor = tradeOf(daemon, request);
    if (actor.side !== 'buy') throw new HttpError(400, 'not_a_buy', `${actor.tradeId} is a sale; results belong to buys`);
    await sendResult(daemon, actor as BuyActor, response, integerQuery(request as Request, 'timeout', { min: 1, max: TIMEOUT_SECONDS_MAX }));
  }));
  app.get('/file/:key', route(async (request, response) => {
    const key = request.params['key'] ?? '';
    if (!/^[0-9a-f]{64}$/.test(key)) throw new HttpError(400, 'invalid_key', 'a file key is 64 lowercase hex digits');
    await streamFile(daemon, key, response, {});
  }));

  app.get('/mandates', route((_request, response) => send(response, 200, daemon.mandates.list())));
  app.post('/mandates', route(async (request, response) => {
    const body = await parseBody(request, mandateRequest);
    checkMandate(daemon, body);
    const mandate = await daemon.mandates.add(body);
    if (mandate === 'full') throw new HttpError(429, 'too_many_mandates', `this daemon keeps at most ${MANDATES_MAX} mandates; revoke some first`);
    send(response, 201, mandate);
  }));
  app.delete('/mandates/:id', route(async (request, response) => {
    if (!(await daemon.mandates.revoke(request.params['id'] ?? ''))) throw new HttpError(404, 'mandate_unknown', `no mandate ${request.params['id']}`);
    send(response, 200, { revoked: request.params['id'] });
  }));

  app.get('/workers', route((_request, response) => send(response, 200, daemon.workers.list())));
  app.post('/workers', route(async (request, response) => {
    const registered = await daemon.workers.register(await parseBody(request, workerRegistration));
    if (registered === 'full') throw new HttpError(429, 'too_many_workers', `this daemon takes at most ${WORKERS_MAX} workers; remove some first`);
    send(response, 200, registered);
  }));
  app.delete('/workers/:id', route(async (request, response) => {
    const id = request.params['id'] ?? '';
    if (!(await daemon.workers.unregister(id))) throw new HttpError(404, 'worker_unknown', `no worker ${id.slice(0, 64)}`);
    send(response, 200, { unregistered: id });
  }));
  return app;
}

/** The browser page's files (src/daemon/ui/), read once: the page is a client of this same API. */
const PAGE_FILES: ReadonlyMap<string, { readonly type: string; readonly body: Buffer }> = new Map(
  ([['index.html', 'text/html; charset=utf-8'], ['app.js', 'text/javascript; charset=utf-8'], ['style.css', 'text/css; charset=utf-8']] as const).map(([name, type]) => [
    name,
    { type, body: readFileSync(new URL(`./ui/${name}`, import.meta.url)) },
  ]),
);

function sendPageFile(response: ServerResponse, name: string): void {
  const file = PAGE_FILES.get(name);
  if (file === undefined) throw new HttpError(404, 'not_found', `no page file ${name.slice(0, 40)}`);
  response
    .writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache', 'content-security-policy': "default-src 'self'; img-src 'self' data:", 'x-content-type-options': 'nosniff' })
    .end(file.body);
}

function tradeOf(daemon: Daemon, request: Request): BuyActor | ReturnType<Daemon['trades']>[number] {
  const actor = daemon.trades().find((trade) => trade.tradeId === request.params['id']);
  if (actor === undefined) throw new HttpError(404, 'trade_unknown', `no trade ${(request.params['id'] ?? '').slice(0, 64)}`);
  return actor;
}

async function buy(daemon: Daemon, request: Request, response: ServerResponse): Promise<void> {
  const article = request.params['*'] ?? '';
  if (!ARTICLE_ID_PATTERN.test(article)) throw new HttpError(400, 'invalid_article', `"${article.slice(0, 80)}" is not an article id`);
  articleOf(daemon, article);
  const priceSats = integerQuery(request, 'price', { min: 0, max: MONEY_SATS_MAX });
  const waitSeconds = integerQuery(request, 'wait', { min: 0, max: WAIT_SECONDS_MAX });
  const timeoutSeconds = integerQuery(request, 'timeout', { min: 1, max: TIMEOUT_SECONDS_MAX });
  const avoid = avoidQuery(request);
  const asynchronous = queryValue(request, 'async');
  if (asynchronous !== undefined && asynchronous !== '1') throw new HttpError(400, 'invalid_query', 'query parameter "async" must be 1');
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > WORK_BYTES_MAX) throw new HttpError(413, 'body_too_large', `work is limited to ${WORK_BYTES_MAX} bytes`);
  // A worker of this daemon can take it without the exchange; anything else would wait for it.
  if (daemon.workers.available(article).length === 0) requireExchange(daemon);
  let size = 0;
  async function* limited(): AsyncGenerator<Uint8Array> {
    for await (const part of request as AsyncIterable<Buffer>) {
      size += part.length;
      if (size > WORK_BYTES_MAX) throw new HttpError(413, 'body_too_large', `work is limited to ${WORK_BYTES_MAX} bytes`);
      yield part;
    }
  }
  const work = await importFile(daemon.cafs, limited());
  if (work.size === 0) throw new HttpError(400, 'empty_work', 'the work is empty: send it as the request body');
  const actor = await daemon.buyer.buy(article, work, {
    ...(priceSats === undefined ? {} : { priceSats }),
    ...(waitSeconds === undefined ? {} : { waitMs: waitSeconds * 1000 }),
    ...(avoid === undefined ? {} : { avoid }),
  });
  if (asynchronous === '1') {
    response.writeHead(202, { 'content-type': 'application/json', location: `/trades/${actor.tradeId}` }).end(JSON.stringify({ tradeId: actor.tradeId }));
    return;
  }
  await sendResult(daemon, actor, response, timeoutSeconds);
}

/** Waits for the buy to end; streams the result, or answers why there is none. */
async function sendResult(daemon: Daemon, actor: BuyActor, response: ServerResponse, timeoutSeconds?: number): Promise<void> {
  const final = timeoutSeconds === undefined ? await actor.finished() : await finishedWithin(daemon, actor, timeoutSeconds * 1000);
  if (final === undefined) {
    // Still under way: where it stands, and where to ask again. The trade carries on.
    response.writeHead(202, { 'content-type': 'application/json', location: `/trades/${actor.tradeId}` }).end(JSON.stringify(tradeView(daemon, actor)));
    return;
  }
  const phase = buyPhase(final);
  if (phase.value === 'done') {
    // The seller is named so that a caller that finds the result wrong can buy it again elsewhere (?avoid=).
    const seller = final.context.seller ?? null;
    return streamFile(daemon, phase.context.resultFileKey, response, { 'x-bitwrk-trade': actor.tradeId, ...(seller === null ? {} : { 'x-bitwrk-seller': seller }) });
  }
  const cleared = final.context.clearedBy !== null;
  const error = cleared
    ? new HttpError(502, 'trade_failed', `the trade ${actor.tradeId} failed: ${final.context.error}`)
    : new HttpError(402, 'no_permission', final.context.error ?? 'the buy was not cleared');
  send(response, error.status, { error: { name: error.errorName, message: error.message }, trade: tradeView(daemon, actor) });
}

/** The trade's final state, or undefined when it has not ended within `ms` (the daemon's clock). */
function finishedWithin(daemon: Daemon, actor: BuyActor, ms: number): Promise<BuyActor['state'] | undefined> {
  const { clock } = daemon.options;
  const gaveUp = new AbortController(); // so that the watcher does not outlive the answer
  const timer = clock.setTimer(() => gaveUp.abort('timeout'), ms);
  return actor.until(() => actor.isFinal, gaveUp.signal).then(
    (final) => {
      clock.clearTimer(timer);
      return final;
    },
    () => undefined,
  );
}

async function streamFile(daemon: Daemon, fileKey: string, response: ServerResponse, headers: Record<string, string>): Promise<void> {
  const manifest = await daemon.cafs.loadFile(fileKey);
  if (manifest === undefined) throw new HttpError(404, 'file_unknown', `no file ${fileKey}`);
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(manifest.size), 'x-bitwrk-file': fileKey, ...headers });
  for await (const part of readFile(daemon.cafs, manifest)) {
    if (!response.write(part)) await new Promise((resolve) => response.once('drain', resolve));
  }
  response.end();
}
