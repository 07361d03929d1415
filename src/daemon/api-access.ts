// Who may use the daemon's local API. A web page in the user's browser can send requests to
// 127.0.0.1 (a form post, a fetch in no-cors mode) and, through DNS rebinding, even read the
// answers, so being on loopback proves nothing. The rules, checked in this order:
//   1. Host must name this daemon: a loopback name or the configured host, with the API's port
//      (an IP literal too when the API listens on every interface). Rebinding sends the
//      attacker's name and is refused.
//   2. Origin, when the browser sends one, must be the daemon's own (its page).
//   3. A request that changes anything (any method but GET and HEAD), and every request from
//      another machine, must carry `Authorization: Bearer <token>`: the api-token file for
//      programs, or the token the daemon's page gets from the URL fragment of the link
//      `bitwrk daemon` prints. A web page cannot read either.
//   4. A JSON endpoint takes only `content-type: application/json` (a form post cannot send it).
// No CORS headers are ever sent, so a page of another origin cannot read an answer either.
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export interface AccessPolicy {
  /** The host the API listens on (as configured: 127.0.0.1, ::1, 0.0.0.0, a name). */
  readonly listenHost: string;
  /** The port it listens on (resolved, never 0). */
  readonly port: number;
  readonly token: string;
}

export interface AccessRequest {
  readonly method: string;
  readonly host: string | undefined;
  readonly origin: string | undefined;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly remoteAddress: string | undefined;
  /** The endpoint takes a JSON body. */
  readonly json: boolean;
}

export interface AccessRefusal {
  readonly status: 400 | 401 | 403 | 415;
  readonly name: string;
  readonly message: string;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** Why the request is refused, or undefined when it may go on. */
export function checkAccess(policy: AccessPolicy, request: AccessRequest): AccessRefusal | undefined {
  if (!hostAllowed(policy, request.host)) {
    return { status: 403, name: 'host_refused', message: `Host "${(request.host ?? '').slice(0, 80)}" is not this daemon (use http://127.0.0.1:${policy.port})` };
  }
  if (request.origin !== undefined && !originAllowed(policy, request.origin)) {
    return { status: 403, name: 'origin_refused', message: `requests from ${request.origin.slice(0, 80)} are not allowed: only the daemon's own page may call it` };
  }
  const reads = request.method === 'GET' || request.method === 'HEAD';
  // A caller that sends a token learns at once when it is not this daemon's, also on a read
  // (else a program with a stale token reads fine and fails only when it first changes something).
  if (request.authorization !== undefined && !tokenMatches(policy.token, request.authorization)) {
    return { status: 401, name: 'token_wrong', message: 'the token sent is not this daemon\'s: use the one in the api-token file in its data directory (it changes when the directory does)' };
  }
  if (!reads || !isLoopback(request.remoteAddress)) {
    if (!tokenMatches(policy.token, request.authorization)) {
      return { status: 401, name: 'token_required', message: 'send "Authorization: Bearer <token>" with the token from the api-token file in the daemon\'s data directory' };
    }
  }
  if (request.json && !reads && !isJson(request.contentType)) {
    return { status: 415, name: 'json_required', message: 'this endpoint takes a JSON body with "content-type: application/json"' };
  }
  return undefined;
}

function hostAllowed(policy: AccessPolicy, host: string | undefined): boolean {
  if (host === undefined) return false;
  const split = splitHost(host.toLowerCase());
  if (split === undefined || split.port !== policy.port) return false;
  if (LOOPBACK_NAMES.has(split.name) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(split.name)) return true;
  const listen = policy.listenHost.toLowerCase();
  if (split.name === listen || split.name === `[${listen}]`) return true;
  // Listening on every interface: callers use this machine's addresses, which DNS rebinding cannot be.
  return WILDCARDS.has(listen) && isIP(split.name.replace(/^\[|\]$/g, '')) !== 0;
}

function originAllowed(policy: AccessPolicy, origin: string): boolean {
  const match = /^http:\/\/([^/]+)$/.exec(origin.toLowerCase());
  return match !== null && hostAllowed(policy, match[1]);
}

/** A Host header's name and port (a browser leaves out port 80). */
function splitHost(host: string): { name: string; port: number } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(host);
  if (match === null) return undefined;
  return { name: match[1]!, port: match[2] === undefined ? 80 : Number(match[2]) };
}

function tokenMatches(token: string, authorization: string | undefined): boolean {
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(authorization ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType);
}

export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}
