// Goal: the `bitwrk` command works as documented: help, clear usage errors with exit code 2, and
// the identity tools (key, sign, verify) producing signatures a Bitcoin library accepts. Method:
// run bin/bitwrk.js as a child process with BITWRK_HOME in a temporary directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import bitcoinMessage from 'bitcoinjs-message';

const home = mkdtempSync(join(tmpdir(), 'bitwrk-cli-'));

function bitwrk(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/bitwrk.js', ...args], {
    env: { ...process.env, BITWRK_HOME: home },
    encoding: 'utf8',
    ...(input === undefined ? {} : { input }),
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

test('--help lists the commands; an unknown command or flag is a usage error (exit 2)', () => {
  const help = bitwrk(['--help']);
  assert.equal(help.code, 0);
  for (const name of ['key', 'sign', 'verify']) assert.match(help.stdout, new RegExp(`\\n  ${name}\\s`));
  const unknown = bitwrk(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const badFlag = bitwrk(['key', '--network', 'moonnet']);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /--network must be mainnet, testnet or regtest, got "moonnet"/);
});

test('key creates a private key file once; sign and verify round-trip with a Bitcoin library', () => {
  const created = bitwrk(['key']);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^created: /);
  assert.equal(statSync(join(home, 'key.wif')).mode & 0o777, 0o600);
  const again = bitwrk(['key']);
  const address = /address: (\S+)/.exec(again.stdout)![1]!;
  assert.equal(address, /address: (\S+)/.exec(created.stdout)![1]);
  const message = 'BITWRK/1 demo\nline=two';
  const signed = bitwrk(['sign', '--stdin'], message);
  assert.equal(signed.code, 0, signed.stderr);
  const signature = signed.stdout.trim();
  assert.ok(bitcoinMessage.verify(message, address, Buffer.from(signature, 'base64')));
  assert.deepEqual([bitwrk(['verify', address, signature, '--stdin'], message).code, bitwrk(['verify', address, signature, 'other']).code], [0, 1]);
});

test('bitwrk worker explains an unreachable daemon and exits 1 at once (B8)', async () => {
  const free = createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const port = (free.address() as AddressInfo).port;
  await new Promise<void>((resolve) => free.close(() => resolve()));
  for (const [url, why] of [[`http://127.0.0.1:${port}`, /nothing listens there \(is the daemon running\?\)/], ['http://127.0.0.1:1', /fetch refuses to connect to that port/]] as const) {
    const result = spawnSync(process.execPath, ['bin/bitwrk.js', 'worker', 'hash', '--daemon', url, '--token', 'x'], { env: { ...process.env, BITWRK_HOME: home }, encoding: 'utf8', timeout: 20_000 }); // a hang is killed and fails below
    assert.equal(result.status, 1, `${url}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`cannot register with the daemon at ${url.replace(/[.:/]/g, '\\$&')}: ${why.source}`));
  }
});

test('render and worker blender: usage errors say what is wrong (exit 2); an unreachable daemon is named', () => {
  const cases: Array<[string[], RegExp]> = [
    [['render'], /name the scene to render/],
    [['render', '/nowhere/shot.blend'], /\/nowhere\/shot.blend does not exist/],
    [['render', 'package.json', '--frames', '5-1'], /--frames: 5-1 ends before it starts/],
    [['render', 'package.json', '--frames', 'all'], /--frames expects frames like 1-24/],
    [['render', 'package.json', '--grid', '3by2'], /--grid expects COLUMNSxROWS/],
    [['render', 'package.json', '--cost', '1T'], /--cost must be one of 512M, 2G, 8G, 32G/],
    [['render', 'package.json', '--article', 'net.bitwrk/test/hash/0'], /--article expects net.bitwrk\/blender\/VERSION\/cycles\/CLASS/],
    [['render', 'package.json', '--cost', '2G', '--article', 'net.bitwrk/blender/3.4/cycles/2G'], /give --cost or --article, not both/],
    [['render', 'package.json', '--blender', '/nowhere/blender'], /cannot run \/nowhere\/blender: not found/],
    [['worker', 'blender', '--cost', '3G'], /--cost must be one of/],
    [['worker', 'blender', '--device', 'TPU'], /--device must be CPU or GPU/],
    [['worker', 'hash', '--jobs', '2'], /--jobs is an option of the blender worker/],
    [['worker', 'blender', '--blender', '/nowhere/blender'], /cannot run \/nowhere\/blender: not found/],
  ];
  const unreachable = bitwrk(['render', 'package.json', '--daemon', 'http://127.0.0.1:9', '--token', 'x']);
  assert.equal(unreachable.code, 1, unreachable.stderr);
  assert.match(unreachable.stderr, /the daemon at http:\/\/127.0.0.1:9 cannot be reached/);
  for (const [args, message] of cases) {
    const run = bitwrk(args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(' '));
  }
});
