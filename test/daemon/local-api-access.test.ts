// Goal: only the daemon's user can drive its local API: not a web page in the user's browser (a
// cross-origin form post or fetch, DNS rebinding), not a program without the token. Method: the
// access rules as a table (one line per case, in the order they are checked), then the same
// attacks over real HTTP against a running daemon, with hand-set Host and Origin headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { checkAccess, type AccessPolicy, type AccessRequest } from '../../src/daemon/api-access.js';
import { WORKERS_MAX } from '../../src/daemon/workers.js';
import { startMarket, TEST_HASH_ARTICLE } from '../support/daemons.js';

const POLICY: AccessPolicy = { listenHost: '127.0.0.1', port: 8091, token: 'a'.repeat(48) };
const TOKEN = `Bearer ${'a'.repeat(48)}`;
const base: AccessRequest = { method: 'GET', host: '127.0.0.1:8091', origin: undefined, authorization: undefined, contentType: undefined, remoteAddress: '127.0.0.1', json: false };

test('the access rules, by descending precedence', () => {
  const cases: Array<[string, Partial<AccessRequest>, string | undefined, AccessPolicy?]> = [
    ['a rebinding Host is refused even with the token', { host: 'evil.example:8091', authorization: TOKEN }, 'host_refused'],
    ['a Host with another port', { host: '127.0.0.1:9999' }, 'host_refused'],
    ['no Host at all', { host: undefined }, 'host_refused'],
    ['another origin is refused even with the token', { method: 'POST', origin: 'http://evil.example', authorization: TOKEN }, 'origin_refused'],
    ['a same-host origin on another port', { method: 'POST', origin: 'http://127.0.0.1:3000', authorization: TOKEN }, 'origin_refused'],
    ['origin "null" (a sandboxed page, a file)', { method: 'POST', origin: 'null', authorization: TOKEN }, 'origin_refused'],
    ['a change without the token', { method: 'POST' }, 'token_required'],
    ['a change with a wrong token', { method: 'DELETE', authorization: `Bearer ${'b'.repeat(48)}` }, 'token_wrong'],
    ['a read on loopback with a wrong token', { authorization: `Bearer ${'b'.repeat(48)}` }, 'token_wrong'],
    ['a read from another machine without the token', { remoteAddress: '192.168.1.7' }, 'token_required'],
    ['a JSON endpoint posted as text/plain', { method: 'POST', authorization: TOKEN, json: true, contentType: 'text/plain' }, 'json_required'],
    ['a JSON endpoint posted as a form', { method: 'POST', authorization: TOKEN, json: true, contentType: 'application/x-www-form-urlencoded' }, 'json_required'],
    ['a read on loopback needs no token', {}, undefined],
    ['localhost and [::1] are this daemon', { host: 'localhost:8091' }, undefined],
    ['the page itself (its own origin) with the token', { method: 'POST', origin: 'http://127.0.0.1:8091', authorization: TOKEN, json: true, contentType: 'application/json; charset=utf-8' }, undefined],
    ['a program with the token and raw work', { method: 'POST', authorization: TOKEN }, undefined],
    ['on every interface: an IP literal Host is fine', { host: '192.168.1.2:8091', remoteAddress: '192.168.1.7', authorization: TOKEN }, undefined, { ...POLICY, listenHost: '0.0.0.0' }],
    ['on every interface: a name is still refused', { host: 'evil.example:8091', authorization: TOKEN }, 'host_refused', { ...POLICY, listenHost: '0.0.0.0' }],
  ];
  for (const [what, change, expected, policy] of cases) {
    assert.equal(checkAccess(policy ?? POLICY, { ...base, ...change })?.name, expected, what);
  }
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP request with headers exactly as given (fetch would not let us set Host). */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers }, (response) => {
      let text = '';
      response.on('data', (part: Buffer) => (text += part.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

test('a web page cannot drive a running daemon: cross-origin, rebinding, no token, form bodies', async () => {
  const market = await startMarket();
  try {
    const daemon = await market.daemon('victim');
    const url = daemon.apiUrl;
    const host = new URL(url).host;
    const auth = `Bearer ${daemon.apiToken}`;
    const mandate = JSON.stringify({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 1_000_000 });
    const worker = JSON.stringify({ id: 'evil', article: TEST_HASH_ARTICLE, pushUrl: 'http://evil.example/work' });
    const attacks: Array<[string, string, string, Record<string, string>, string | undefined, number]> = [
      ['an unlimited mandate from evil.example (text/plain, a "simple" request)', 'POST', '/mandates', { origin: 'http://evil.example', 'content-type': 'text/plain' }, mandate, 403],
      ['the same as a form post', 'POST', '/mandates', { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, 'side=buy', 403],
      ['a purchase from evil.example', 'POST', `/buy/${TEST_HASH_ARTICLE}?price=100000000`, { origin: 'http://evil.example' }, 'work', 403],
      ['a worker pointing at the attacker', 'POST', '/workers', { origin: 'http://evil.example', 'content-type': 'application/json' }, worker, 403],
      ['DNS rebinding: evil.example resolving to 127.0.0.1 reads the trades', 'GET', '/trades', { host: `evil.example:${new URL(url).port}` }, undefined, 403],
      ['DNS rebinding with the right origin for that name', 'POST', '/mandates', { host: 'evil.example', origin: 'http://evil.example', 'content-type': 'application/json' }, mandate, 403],
      ['no origin, no token (a script outside the browser)', 'POST', '/mandates', { 'content-type': 'application/json' }, mandate, 401],
      ['the token, but the body as text/plain', 'POST', '/mandates', { authorization: auth, 'content-type': 'text/plain' }, mandate, 415],
      ['the old form endpoint is gone', 'POST', '/registerworker', { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, 'id=x&article=a&pushurl=http://evil.example', 404],
      ['a CORS preflight', 'OPTIONS', '/mandates', { origin: 'http://evil.example', 'access-control-request-method': 'POST' }, undefined, 403],
    ];
    for (const [what, method, path, headers, body, status] of attacks) {
      const answer = await send(`${url}${path}`, method, { host, ...headers }, body);
      assert.equal(answer.status, status, `${what}: ${answer.body}`);
      assert.equal(answer.headers['access-control-allow-origin'], undefined, `${what}: no CORS`);
    }
    assert.deepEqual(daemon.mandates.list(), [], 'no mandate was made');
    assert.deepEqual(daemon.workers.list(), [], 'no worker was registered');
    assert.deepEqual(daemon.trades(), [], 'nothing was bought');
    // The user's own program, with the token: the same mandate goes through.
    const made = await send(`${url}/mandates`, 'POST', { host, authorization: auth, 'content-type': 'application/json' }, mandate);
    assert.equal(made.status, 201, made.body);
    assert.equal((await send(`${url}/info`, 'GET', { host })).status, 200, 'reads on loopback stay open');
  } finally {
    await market.stop();
  }
});

test(`the worker registry holds at most ${WORKERS_MAX} workers`, async () => {
  const market = await startMarket();
  try {
    const daemon = await market.daemon('many-workers');
    const host = new URL(daemon.apiUrl).host;
    const register = (id: string) =>
      send(`${daemon.apiUrl}/workers`, 'POST', { host, authorization: `Bearer ${daemon.apiToken}`, 'content-type': 'application/json' }, JSON.stringify({ id, article: TEST_HASH_ARTICLE, pushUrl: 'http://127.0.0.1:1/work' }));
    for (let index = 0; index < WORKERS_MAX; index++) assert.equal((await register(`w${index}`)).status, 200);
    const refused = await register('one-too-many');
    assert.equal(refused.status, 429, refused.body);
    assert.match(refused.body, /too_many_workers/);
    assert.equal((await register('w0')).status, 200, 'a known worker may still say it is idle');
    assert.equal(daemon.workers.list().length, WORKERS_MAX);
  } finally {
    await market.stop();
  }
});

test('a second daemon on the same data directory is refused, naming the directory and the owner', async () => {
  const market = await startMarket();
  try {
    const first = await market.daemon('owner');
    await assert.rejects(market.daemon('owner'), (error: Error) => {
      assert.match(error.message, new RegExp(`bitwrk daemon: the data directory \\S*owner is in use by process ${process.pid}`));
      return true;
    });
    assert.equal(first.trades().length, 0);
    await first.stop();
    const again = await market.daemon('owner');
    assert.equal(again.identity.address, first.identity.address, 'the directory is free once its owner stopped');
  } finally {
    await market.stop();
  }
});
