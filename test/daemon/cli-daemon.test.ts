// Goal: the commands a newcomer types work as the README says. `bitwrk playground` (npm start)
// (its printed withdraw command too: paid on its devnet, the payer signing)
// shows a trade go through and keeps serving; `bitwrk daemon` starts against a running exchange,
// keeps its mandates across a restart, stops cleanly, and refuses a bad config file with a clear
// error. Method: the real commands as child processes (real clock, real ports), in a temporary
// BITWRK_HOME, driven over their HTTP APIs.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { loadKeyFile } from '../../src/crypto/keyfile.js';
import { hashWork } from '../../src/daemon/hash-work.js';
import { TEST_HASH_ARTICLE } from '../../src/market/catalogue.js';

interface Running {
  readonly child: ChildProcess;
  readonly output: string[];
  /** Resolves with the first match of `pattern` in the output (waiting for it if need be). */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

function run(args: readonly string[], home: string): Running {
  const child = spawn(process.execPath, ['bin/bitwrk.js', ...args], { env: { ...process.env, BITWRK_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const waiters = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      for (const waiter of [...waiters]) waiter();
    });
  }
  return {
    child,
    output,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          for (const line of output) {
            const match = pattern.exec(line);
            if (match !== null) {
              waiters.delete(check);
              return resolve(match);
            }
          }
        };
        waiters.add(check);
        check();
        void exited.then((code) => waiters.has(check) && reject(new Error(`exited with ${code} before ${pattern}:\n${output.join('\n')}`)));
      }),
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

test('bitwrk playground shows a trade go through, then serves more work until Ctrl-C', async () => {
  const home = mkdtempSync(join(tmpdir(), 'bitwrk-playground-test-'));
  const playground = run(['playground', '--port', '0'], home);
  try {
    await playground.waitFor(/Press Ctrl-C to stop/);
    const text = playground.output.join('\n');
    assert.match(text, /the buyer checked it by redoing the work: correct/);
    // 1000 sat to the seller, 30 sat fee: the buyer's 1,000,000 less 1,030.
    assert.match(text, /buyer {2}account: 998970 sat available, 0 sat held/);
    assert.match(text, /seller account: 1000 sat available, 0 sat held/);
    const [, buyerUrl, token] = (await playground.waitFor(/buyer daemon {3}(http:\S+)\/#token=(\S+)$/))!;
    const [, curlToken] = (await playground.waitFor(/curl -H 'authorization: Bearer (\S+)'/))!;
    assert.equal(curlToken, token, 'the curl line and the page link carry the same token');
    const work = new TextEncoder().encode('more work, please');
    const refused = await fetch(`${buyerUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: work });
    assert.equal(refused.status, 401, 'no token, no purchase');
    const response = await fetch(`${buyerUrl}/buy/${TEST_HASH_ARTICLE}`, { method: 'POST', body: work, headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), hashWork(work));
    // The printed withdraw command: the payer signs, the devnet mines, the withdrawal completes.
    const [, withdrawArgs] = (await playground.waitFor(/^ {2}npx bitwrk (withdraw .+)$/))!;
    const withdraw = run(withdrawArgs!.split(' '), home);
    await withdraw.waitFor(/^w1: 10000 sat to bcrt1\S+, requested$/);
    const exitCode = withdraw.child.exitCode ?? (await once(withdraw.child, 'exit'))[0];
    assert.equal(exitCode, 0);
    await playground.waitFor(/\[payer\] signed payout batch b1: [0-9a-f]{64}/);
    const account = async () => (await (await fetch(`${buyerUrl}/account`, { headers: { authorization: `Bearer ${token}` } })).json()) as { withdrawals: unknown[]; payoutPendingSats: number };
    // A real process mining a block every 10 s of wall time: polled, not slept through.
    for (let tries = 0; (await account()).withdrawals.length > 0; tries++) {
      assert.ok(tries < 600, 'the withdrawal completed within a minute');
      await new Promise((resolve) => setTimeout(resolve, 100)); // tidy-allow: a real child process's wall-clock blocks
    }
    assert.equal((await account()).payoutPendingSats, 0);
  } finally {
    assert.equal(await playground.stop(), 0);
  }
  assert.ok(playground.output.includes('stopped cleanly'), playground.output.join('\n'));
});

test('bitwrk daemon runs against an exchange, keeps its mandates across a restart, refuses a bad config', async () => {
  const home = mkdtempSync(join(tmpdir(), 'bitwrk-daemon-cli-'));
  const exchange = run(['exchange', '--port', '0'], home);
  try {
    const [, wsUrl] = (await exchange.waitFor(/WebSocket: (\S+)/))!;
    const dataDir = join(home, 'daemon');
    const start = async (): Promise<{ daemon: Running; apiUrl: string }> => {
      const daemon = run(['daemon', '--exchange', wsUrl!, '--api-port', '0', '--data-dir', dataDir, '--quiet'], home);
      const [, apiUrl] = (await daemon.waitFor(/API: +(http:\S+)\/ \(changes need/))!;
      return { daemon, apiUrl: apiUrl! };
    };
    const first = await start();
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${readFileSync(join(dataDir, 'api-token'), 'utf8').trim()}` };
    try {
      const info = (await (await fetch(`${first.apiUrl}/info`)).json()) as { address: string; exchangeState: string };
      assert.equal(info.address, loadKeyFile(join(home, 'key.wif'), 'testnet').address, 'the daemon uses the default key file');
      const bad = await fetch(`${first.apiUrl}/mandates`, { method: 'POST', headers, body: JSON.stringify({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: -1 }) });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: { message: string } }).error.message, /priceSats/);
      const made = await fetch(`${first.apiUrl}/mandates`, { method: 'POST', headers, body: JSON.stringify({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 700, trades: 5 }) });
      assert.equal(made.status, 201);
    } finally {
      assert.equal(await first.daemon.stop(), 0);
    }
    assert.ok(first.daemon.output.includes('stopped cleanly'), first.daemon.output.join('\n'));

    const second = await start();
    try {
      const mandates = (await (await fetch(`${second.apiUrl}/mandates`)).json()) as Array<{ priceSats: number; tradesLeft: number }>;
      assert.deepEqual(mandates.map(({ priceSats, tradesLeft }) => ({ priceSats, tradesLeft })), [{ priceSats: 700, tradesLeft: 5 }]);
    } finally {
      assert.equal(await second.daemon.stop(), 0);
    }

    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ exchangeUrl: wsUrl, apiPrt: 9000 }));
    const refused = run(['daemon', '--data-dir', dataDir], home);
    assert.equal(await new Promise((resolve) => refused.child.once('exit', resolve)), 2);
    assert.match(refused.output.join('\n'), /config\.json: Unrecognized key: "apiPrt"/);
  } finally {
    await exchange.stop();
  }
});

test('a daemon whose output pipe closes (its terminal gone, `| head`) keeps working and stops cleanly', async () => {
  // It died of an unhandled EPIPE at the next line it printed.
  const home = mkdtempSync(join(tmpdir(), 'bitwrk-daemon-epipe-'));
  const exchange = run(['exchange', '--port', '0'], home);
  try {
    const [, wsUrl] = (await exchange.waitFor(/WebSocket: (\S+)/))!;
    const daemon = run(['daemon', '--exchange', wsUrl!, '--api-port', '0', '--data-dir', join(home, 'daemon')], home);
    const [, apiUrl] = (await daemon.waitFor(/API: +(http:\S+)\/ \(changes need/))!;
    daemon.child.stdout!.destroy();
    assert.equal((await fetch(`${apiUrl}/info`)).status, 200);
    assert.equal(await daemon.stop(), 0, daemon.output.join('\n')); // it prints "SIGTERM: stopping" into the closed pipe
  } finally {
    await exchange.stop();
    rmSync(home, { recursive: true, force: true });
  }
});
