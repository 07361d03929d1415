// Goal: `bitwrk exchange` starts from the command line on the embedded store, serves signed
// commands, shuts down cleanly on SIGTERM and comes back with the same state. Method: run the
// real command as a child process in a temporary BITWRK_HOME; talk to it over WebSockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { realClock } from '../../src/clock.js';
import { loadKeyFile } from '../../src/crypto/keyfile.js';
import { ExchangeClient } from '../../src/daemon/exchange-client.js';
import { exchangeProtocol } from '../../src/protocol/exchange.js';
import { RpcPeer } from '../../src/transport/rpc.js';
import { connectWebSocket } from '../../src/transport/ws-client.js';
import { newIdentity } from '../support/exchange.js';

const home = mkdtempSync(join(tmpdir(), 'bitwrk-exchange-cli-'));

async function start(): Promise<{ child: ChildProcess; wsUrl: string; output: string[] }> {
  const child = spawn(process.execPath, ['bin/bitwrk.js', 'exchange', '--port', '0'], {
    env: { ...process.env, BITWRK_HOME: home },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const output: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  const wsUrl = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      output.push(line);
      const match = /WebSocket: (\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exchange exited with ${code}: ${output.join('\n')}`)));
  });
  return { child, wsUrl, output };
}

/** The exit code, or the signal's name when a signal ended the process (so a failure says which). */
async function stop(child: ChildProcess): Promise<number | string | null> {
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  child.kill('SIGTERM');
  return exited;
}

test('bitwrk exchange serves, stops cleanly on SIGTERM, and restarts with its state', async () => {
  const first = await start();
  const admin = loadKeyFile(join(home, 'key.wif'), 'testnet');
  const participant = newIdentity();
  try {
    const peer = new RpcPeer(await connectWebSocket(first.wsUrl, { clock: realClock }), exchangeProtocol, {}, { clock: realClock });
    const info = await peer.request('info', {});
    assert.equal(info.exchangeId, 'bitwrk-local');
    assert.ok(info.articles.some((article) => article.articleId === 'net.bitwrk/test/hash/0'));
    const adminClient = new ExchangeClient(peer, admin, info.exchangeId, realClock);
    assert.equal((await adminClient.credit(participant.address, 4242)).availableSats, 4242);
    peer.close();
  } finally {
    assert.equal(await stop(first.child), 0);
  }
  assert.ok(first.output.includes('stopped cleanly'), first.output.join('\n'));

  const second = await start();
  try {
    const peer = new RpcPeer(await connectWebSocket(second.wsUrl, { clock: realClock }), exchangeProtocol, {}, { clock: realClock });
    assert.equal((await peer.request('account', { address: participant.address })).availableSats, 4242);
    peer.close();
  } finally {
    assert.equal(await stop(second.child), 0);
  }
});
