// Goal: the daemon's page shows the daemon's state and its forms work, in a real browser. A user
// grants a mandate (a bad one shows the daemon's error and changes nothing), hands in a work file,
// watches the trade finish and downloads the result, and revokes the mandate. Method: Chromium
// (headless, through playwright-core) on the buyer daemon's page, with a real exchange, seller
// daemon and worker behind it on a VirtualClock that the test moves while the page polls. A
// third test funds an account from the page: a deposit address with its QR code, a devnet payment,
// the credit shown; then withdraws (a refused destination shows why; a good one is listed).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { HDKey } from '@scure/bip32';
import { parseDepositKey } from '../../src/chain/deposit-keys.js';
import { Devnet, devnetBackend } from '../../src/chain/devnet.js';
import { hashWork } from '../../src/daemon/hash-work.js';
import { listen } from '../../src/transport/listen.js';
import { settle, startMarket, TEST_HASH_ARTICLE, type Market } from '../support/daemons.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (CI installs the Debian package chromium)`;

let market: Market;
let browser: Browser;
before(async () => {
  if (skip !== false) return;
  market = await startMarket();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
after(async () => {
  await browser?.close();
  await market?.stop();
});

test('the page: grant a mandate, buy with a file, watch the trade, fetch the result, revoke', { skip }, async () => {
  const seller = await market.daemon('ui-seller');
  await market.worker(seller, 'ui-worker');
  await seller.mandates.add({ side: 'sell', article: TEST_HASH_ARTICLE, priceSats: 1000 });
  const buyer = await market.daemon('ui-buyer');
  await market.credit(buyer.identity.address, 10_000);
  await settle(market.clock, () => seller.trades().some((trade) => trade.state.value === 'bidPlaced'), { what: 'the sell bid' });

  const page = await browser.newPage({ acceptDownloads: true });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(buyer.pageUrl);
  assert.equal(new URL(page.url()).hash, "", "the page takes the token out of the address bar");
  await page.locator('#identity', { hasText: buyer.identity.address }).waitFor();
  assert.match((await page.textContent('#account')) ?? '', /10000 sat available/);

  // A mandate the daemon refuses: the error is shown, no mandate appears.
  const form = page.locator('#mandate-form');
  await form.locator('select[name=article]').selectOption(TEST_HASH_ARTICLE);
  await form.locator('input[name=priceSats]').fill('1200');
  await form.locator('input[name=trades]').fill('0');
  await form.locator('input[name=trades]').evaluate((input) => input.removeAttribute('min')); // past the browser's own check
  await form.locator('button[type=submit]').click();
  await page.locator('#mandate-error', { hasText: /./ }).waitFor();
  assert.match((await page.textContent('#mandate-error')) ?? '', /trades/);
  assert.equal(buyer.mandates.list().length, 0);

  await form.locator('input[name=trades]').fill('2');
  await form.locator('button[type=submit]').click();
  await page.waitForSelector('#mandates tbody tr');
  assert.deepEqual(buyer.mandates.list().map(({ side, priceSats, tradesLeft }) => ({ side, priceSats, tradesLeft })), [{ side: 'buy', priceSats: 1200, tradesLeft: 2 }]);
  assert.equal(await page.textContent('#mandate-error'), '');

  const work = Buffer.from('work from the browser');
  const buyForm = page.locator('#buy-form');
  await buyForm.locator('input[name=work]').setInputFiles({ name: 'work.bin', mimeType: 'application/octet-stream', buffer: work });
  await buyForm.locator('select[name=article]').selectOption(TEST_HASH_ARTICLE);
  await buyForm.locator('button[type=submit]').click();
  await page.waitForSelector('#trades tbody tr');
  await settle(market.clock, () => [...buyer.buyer.actors.values()].some((trade) => trade.state.value === 'done'), { what: 'the purchase' });
  const resultLink = page.locator('#trades tbody tr a', { hasText: 'result' });
  await resultLink.waitFor();
  assert.equal(await page.locator('#trades tbody tr td.state-done').count(), 1);
  const [download] = await Promise.all([page.waitForEvent('download'), resultLink.click()]);
  assert.deepEqual(new Uint8Array(readFileSync((await download.path())!)), hashWork(work));

  await page.locator('#mandates tbody tr button', { hasText: 'Revoke' }).click();
  await page.locator('#mandates tbody tr').waitFor({ state: 'detached' });
  assert.equal(buyer.mandates.list().length, 0, 'the one trade left was revoked');
  assert.deepEqual(problems, [], 'no script errors on the page');
  await page.close();
});

test('a page from another origin in the same browser cannot drive the daemon; without the token the page is read-only', { skip }, async () => {
  const victim = await market.daemon('ui-victim');
  const mandate = JSON.stringify({ side: 'buy', article: TEST_HASH_ARTICLE, priceSats: 100_000_000 });
  // The attacker's page: a form post and no-cors fetches to the daemon, as any website could send.
  const evil = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><body>
<form id="f" method="POST" action="${victim.apiUrl}/mandates" enctype="text/plain"><input name='${mandate.slice(0, -1)},"x":"' value='"}'></form>
<script>
fetch('${victim.apiUrl}/mandates', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(mandate)} });
fetch('${victim.apiUrl}/buy/${TEST_HASH_ARTICLE}?price=100000000', { method: 'POST', mode: 'no-cors', body: 'work' });
fetch('${victim.apiUrl}/trades').then((r) => r.text()).then((t) => { document.title = 'read:' + t; }, () => { document.title = 'blocked'; });
setTimeout(() => document.getElementById('f').submit(), 300);
</script></body>`);
  });
  const port = await listen(evil, 0, '127.0.0.1', 'the evil page');
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForURL(/mandates/, { timeout: 5000 }); // the form post has gone through
    assert.match((await page.content()) ?? '', /origin_refused/);
    assert.deepEqual(victim.mandates.list(), [], 'no mandate was made');
    assert.deepEqual(victim.trades(), [], 'nothing was bought');
    await page.close();

    const readOnly = await browser.newPage();
    await readOnly.goto(`${victim.apiUrl}/`);
    await readOnly.locator('#identity', { hasText: victim.identity.address }).waitFor();
    assert.equal(await readOnly.locator('#read-only').isVisible(), true, 'the page says why it cannot change anything');
    assert.equal(await readOnly.locator('#mandate-form button[type=submit]').isDisabled(), true);
    await readOnly.close();
  } finally {
    evil.close();
  }
});

test('the page: a deposit address with its QR code, and the deposit followed to its credit', { skip }, async () => {
  const devnet = new Devnet({ seed: 5 });
  const key = parseDepositKey(HDKey.fromMasterSeed(new Uint8Array(32).fill(12), { private: 0x04358394, public: 0x043587cf }).derive("m/84'/1'/0'").publicExtendedKey, 'regtest');
  const funded = await startMarket({ deposits: { key, backend: devnetBackend(devnet), pollMs: 3_600_000 } });
  try {
    const daemon = await funded.daemon('ui-depositor');
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(daemon.pageUrl);
    await page.locator('#identity', { hasText: daemon.identity.address }).waitFor();
    const form = page.locator('#deposit-form');
    await form.locator('input[name=amountSats]').fill('70000');
    await form.locator('button[type=submit]').click();
    await page.locator('#deposit-address', { hasText: /^bcrt1q/ }).waitFor();
    const address = (await page.textContent('#deposit-address'))!;
    assert.equal(await page.getAttribute('#deposit-uri', 'href'), `bitcoin:${address}?amount=0.0007`);
    // The QR image decoded (the page's content security policy lets a data: image through).
    await page.locator('#deposit-qr').waitFor({ state: 'visible' });
    const qr = page.locator('#deposit-qr');
    assert.ok((await qr.evaluate((image) => (image as { naturalWidth: number }).naturalWidth)) > 0, 'the QR code image decoded');
    devnet.faucet.pay(address, 70_000);
    devnet.mine(3);
    await funded.exchange.depositWatcher!.poll();
    await page.locator('#deposits tbody tr', { hasText: 'credited' }).waitFor();
    await page.locator('#account', { hasText: '70000 sat available' }).waitFor();
    // Withdraw from the page: a refused destination shows the exchange's reason; a good one is requested and listed.
    const withdraw = page.locator('#withdraw-form');
    await withdraw.locator('input[name=destination]').fill('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4');
    await withdraw.locator('input[name=amountSats]').fill('20000');
    await withdraw.locator('button[type=submit]').click();
    await page.locator('#withdraw-error', { hasText: /another Bitcoin network/ }).waitFor();
    await withdraw.locator('input[name=destination]').fill('bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080');
    await withdraw.locator('button[type=submit]').click();
    await page.locator('#withdraw-error', { hasText: 'w1: 20000 sat to bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080, requested' }).waitFor();
    await page.locator('#withdrawals tbody tr', { hasText: 'requested' }).waitFor();
    await page.locator('#account', { hasText: '50000 sat available' }).waitFor();
    assert.equal(funded.exchange.exchange.core.funds.withdrawalsOf(daemon.identity.address).length, 1, 'one withdrawal, not one per click');
    assert.deepEqual(problems, [], 'no script errors on the page');
    await page.close();
  } finally {
    await funded.stop();
  }
});
