// The exchange's HTTP API (docs/http-api.md): articles, depth, price history, server info,
// health and Prometheus metrics. Read-only, JSON unless said; bad parameters get 400 with a
// stable error body naming the parameter, unknown articles 404 with code 3001.
import type { IncomingMessage, ServerResponse } from 'node:http';
import polka, { type Polka } from 'polka';
import { verificationOf } from '../market/evidence.js';
import { REJECTIONS } from '../market/rejections.js';
import { ERRORS } from '../transport/errors.js';
import { MINUTE_MS } from './candles.js';
import type { Exchange } from './exchange.js';

export interface HttpApiDeps {
  readonly exchange: Exchange;
  readonly metrics: { render(): string };
  readonly info: () => Record<string, unknown>;
  readonly health: () => { ok: boolean; [detail: string]: unknown };
}

const QUERY_CHARS_MAX = 512;

function send(response: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = contentType === 'application/json' ? JSON.stringify(body) : String(body);
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' }).end(text);
}

function fail(response: ServerResponse, status: number, name: string, code: number, message: string): void {
  send(response, status, { error: { code, name, message } });
}

function badParameter(response: ServerResponse, parameter: string, problem: string): void {
  fail(response, 400, 'invalid_body', ERRORS.invalid_body.code, `query parameter "${parameter}": ${problem}`);
}

/** An integer query parameter, its default, or undefined after answering 400. */
function integerParameter(response: ServerResponse, query: Record<string, string>, name: string, fallback: number, range: { min: number; max: number }): number | undefined {
  const raw = query[name];
  if (raw === undefined) return fallback;
  if (!/^-?\d{1,16}$/.test(raw)) return void badParameter(response, name, `expected a whole number, got "${raw.slice(0, 40)}"`);
  const value = Number(raw);
  if (value < range.min || value > range.max) return void badParameter(response, name, `must be between ${range.min} and ${range.max}`);
  return value;
}

export function createHttpApi(deps: HttpApiDeps): Polka {
  const { exchange } = deps;
  const article = (request: IncomingMessage & { params: Record<string, string> }, response: ServerResponse) => {
    let id: string;
    try {
      id = decodeURIComponent(request.params['id'] ?? '');
    } catch {
      return void badParameter(response, 'id', 'malformed percent-encoding');
    }
    const spec = exchange.core.catalogue().find((candidate) => candidate.articleId === id);
    if (spec === undefined) return void fail(response, 404, 'article_unknown', REJECTIONS.article_unknown.code, `no article "${id.slice(0, 128)}"`);
    return spec;
  };
  const app = polka({
    onNoMatch: (_request, response) => fail(response, 404, 'not_found', 404, 'no such route'),
    onError: (_error, _request, response) => fail(response as ServerResponse, 500, 'internal', ERRORS.internal.code, ERRORS.internal.message),
  });
  app.use((request, response, next) => {
    // Nothing here takes a body: one that comes anyway is not read (the connection closes after
    // the answer), so an upload cannot keep a socket busy.
    const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
    if (hasBody || (request.method !== 'GET' && request.method !== 'HEAD')) response.setHeader('connection', 'close');
    if (request.method !== 'GET' && request.method !== 'HEAD') return fail(response, 405, 'method_not_allowed', 405, 'only GET and HEAD');
    if (hasBody) return fail(response, 413, 'body_not_allowed', 413, 'the HTTP API takes no request bodies');
    if ((request.search ?? '').length > QUERY_CHARS_MAX) return fail(response, 414, 'query_too_long', 414, `the query string exceeds ${QUERY_CHARS_MAX} characters`);
    return next();
  });
  app.get('/health', (_request, response) => {
    const health = deps.health();
    send(response, health.ok ? 200 : 503, health);
  });
  app.get('/metrics', (_request, response) => send(response, 200, deps.metrics.render(), 'text/plain; version=0.0.4'));
  app.get('/api/info', (_request, response) => send(response, 200, deps.info()));
  app.get('/api/articles', (_request, response) => send(response, 200, { articles: exchange.core.catalogue() }));
  app.get('/api/articles/:id', (request, response) => {
    const spec = article(request, response);
    if (spec !== undefined) send(response, 200, { article: spec, lastTrade: exchange.core.lastTrade(spec.articleId) ?? null, verification: verificationOf(spec.articleId) });
  });
  app.get('/api/articles/:id/depth', (request, response) => {
    const spec = article(request, response);
    if (spec === undefined) return;
    const levels = integerParameter(response, request.query, 'levels', 20, { min: 1, max: 100 });
    if (levels !== undefined) send(response, 200, { article: spec.articleId, ...exchange.core.depth(spec.articleId, levels) });
  });
  app.get('/api/participants/:address/reputation', (request, response) => {
    const address = request.params['address'] ?? '';
    try {
      exchange.checkAddress(address);
    } catch {
      return fail(response, 400, 'address_invalid', ERRORS.address_invalid.code, `${JSON.stringify(address.slice(0, 100))} is not a Bitcoin address of this exchange's network`);
    }
    send(response, 200, exchange.core.reputationOf(address));
  });
  app.get('/api/articles/:id/prices', (request, response) => {
    const spec = article(request, response);
    if (spec === undefined) return;
    const nowMs = exchange.commandTime();
    const toMs = integerParameter(response, request.query, 'to', nowMs, { min: 0, max: 8_640_000_000_000_000 });
    if (toMs === undefined) return;
    const fromMs = integerParameter(response, request.query, 'from', toMs - 24 * 60 * MINUTE_MS, { min: 0, max: 8_640_000_000_000_000 });
    if (fromMs === undefined) return;
    const slotMs = integerParameter(response, request.query, 'slot', 60 * MINUTE_MS, { min: MINUTE_MS, max: 31 * 24 * 60 * MINUTE_MS });
    if (slotMs === undefined) return;
    const candles = exchange.priceHistory.candles(spec.articleId, { fromMs, toMs, slotMs });
    if (typeof candles === 'string') return badParameter(response, 'from/to/slot', candles);
    send(response, 200, { article: spec.articleId, fromMs, toMs, slotMs, candles });
  });
  return app;
}
