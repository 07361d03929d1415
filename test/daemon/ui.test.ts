// Goal: the daemon's page shows the daemon's state and its forms work, in a real browser. A user
// grants a mandate (a bad one shows the daemon's error and changes nothing), hands in a work file,
// watches the trade finish and downloads the result, and revokes the mandate. Method: Chromium
// (headless, through playwright-core) on the buyer daemon's page, with a real exchange, seller
// daemon and worker behind it on a VirtualClock that the test moves while the page polls.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { hashWork } from '../../src/daemon/hash-work.js';
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
  await page.goto(`${buyer.apiUrl}/`);
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
