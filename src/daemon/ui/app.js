// The daemon's page: reads the local API once a second and renders it; the forms call the same
// API a program would (docs/daemon.md). Every value is written as text, never as HTML.
// Changes need the API token: the link `bitwrk daemon` prints carries it in the URL fragment
// (which the browser never sends to any server); the page keeps it for this tab only and removes
// it from the address bar. Without it the page shows the daemon's state read-only.
const REFRESH_MS = 1000;
const TOKEN_KEY = 'bitwrk-api-token';

function takeToken() {
  const match = /^#token=([A-Za-z0-9._~-]{16,256})$/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, match[1]);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

const token = takeToken();

async function api(path, init = {}) {
  const headers = { ...(init.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const response = await fetch(path, { ...init, headers });
  const body = response.headers.get('content-type')?.startsWith('application/json') ? await response.json() : await response.text();
  if (!response.ok) throw Object.assign(new Error(body?.error?.message ?? `HTTP ${response.status}`), { status: response.status });
  return body;
}

function cell(row, value, className) {
  const td = row.insertCell();
  if (value instanceof Node) td.append(value);
  else td.textContent = value === null || value === undefined ? '' : String(value);
  if (className) td.className = className;
  return td;
}

function button(label, onClick) {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = 'small';
  element.textContent = label;
  element.disabled = !token;
  element.addEventListener('click', onClick);
  return element;
}

function fill(tableId, rows, render) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren();
  for (const item of rows) render(body.insertRow(), item);
}

/** The bid's price, and once matched what the transaction costs (buy) or earns (sale). */
function priceText(trade) {
  const limit = trade.priceSats === null || trade.priceSats === undefined ? '' : `${trade.side === 'buy' ? 'limit' : 'ask'} ${trade.priceSats}`;
  if (!trade.deal) return limit;
  return trade.side === 'buy' ? `${limit} · paid ${trade.deal.priceSats} + ${trade.deal.feeSats} fee` : `${limit} · earns ${trade.deal.priceSats}`;
}

/** Bids placed of the most a purchase may place. */
const bidsText = (trade) => (trade.attempts === undefined ? '' : `${trade.attempts} of ${trade.attemptsMax}`);

/** What went wrong, or while it is under way, when its current phase ends at the latest. */
const noteText = (trade) => trade.error ?? (trade.phaseEndsMs ? `this phase ends by ${new Date(trade.phaseEndsMs).toLocaleTimeString()}` : '');

const CANCELLABLE = new Set(['clearance', 'bidding', 'bidPlaced']);

const when = (ms) => (ms === null ? '' : new Date(ms).toLocaleString());

function showProblem(error) {
  const problem = document.getElementById('problem');
  problem.hidden = error === undefined;
  problem.textContent = error === undefined ? '' : `The daemon does not answer: ${error.message}`;
}

async function refresh() {
  try {
    const [info, account, trades, workers, mandates] = await Promise.all([
      api('/info'),
      api('/account').catch((error) => ({ problem: error.message })),
      api('/trades'),
      api('/workers'),
      api('/mandates'),
    ]);
    showProblem(undefined);
    document.getElementById('identity').textContent = `${info.address} on ${info.network} · exchange ${info.exchangeUrl} (${info.exchangeState}) · buyers reach it at ${info.peerUrl}`;
    document.getElementById('account').textContent = account.problem !== undefined
      ? `account: unknown (${account.problem})`
      : `account: ${account.availableSats} sat available, ${account.heldSats} sat held, ${account.depositPendingSats} sat deposited, not yet credited${account.frozen ? ' · FROZEN' : ''}`;
    if (account.deposits !== undefined) showDeposits(account.deposits);
    if (account.withdrawals !== undefined) {
      fill('withdrawals', account.withdrawals, (row, withdrawal) => {
        for (const value of [withdrawal.withdrawalId, withdrawal.destination, withdrawal.amountSats, withdrawal.state, withdrawal.txid ?? '']) cell(row, value);
      });
    }
    for (const select of document.querySelectorAll('select[name=article]')) {
      if (select.options.length > 0) continue;
      for (const article of info.articles) select.add(new Option(article, article));
    }
    fill('mandates', mandates, (row, mandate) => {
      for (const value of [mandate.mandateId, mandate.side, mandate.article, mandate.priceSats, mandate.tradesLeft ?? 'any', when(mandate.expiresMs)]) cell(row, value);
      cell(row, button('Revoke', () => api(`/mandates/${encodeURIComponent(mandate.mandateId)}`, { method: 'DELETE' }).then(refresh, showProblem)));
    });
    fill('trades', [...trades].reverse(), (row, trade) => {
      for (const value of [trade.tradeId, trade.side]) cell(row, value);
      cell(row, trade.state, `state-${trade.state}`);
      for (const value of [trade.article, priceText(trade), trade.txId ?? (trade.clearedBy?.startsWith('local:') ? 'local' : ''), bidsText(trade), noteText(trade)]) cell(row, value);
      if (trade.side === 'buy' && trade.state === 'done') {
        const link = document.createElement('a');
        link.href = `/trades/${encodeURIComponent(trade.tradeId)}/result`;
        link.textContent = 'result';
        link.download = `${trade.tradeId}.result`;
        cell(row, link);
      } else if (trade.side === 'buy' && CANCELLABLE.has(trade.state)) {
        cell(row, button('Cancel', () => api(`/trades/${encodeURIComponent(trade.tradeId)}`, { method: 'DELETE' }).then(refresh, showProblem)));
      } else cell(row, '');
    });
    fill('workers', workers, (row, worker) => {
      for (const value of [worker.id, worker.article, worker.state, worker.pushUrl, worker.lastError]) cell(row, value);
      cell(row, button('Remove', () => api(`/workers/${encodeURIComponent(worker.id)}`, { method: 'DELETE' }).then(refresh, showProblem)));
    });
  } catch (error) {
    showProblem(error);
  }
}

const DEPOSIT_STATUS = { seen: 'seen (unconfirmed)', confirming: 'confirming', credited: 'credited', too_small: 'too small: not credited' };

function showDeposits(deposits) {
  const newest = deposits.addresses[0];
  if (newest !== undefined && document.getElementById('deposit-address').textContent === '') document.getElementById('deposit-address').textContent = `${newest.address}${newest.used ? ' (paid before)' : ''}`;
  document.getElementById('deposit-tip').textContent = deposits.tip === null ? 'the exchange has not read the chain yet' : `chain tip ${deposits.tip.height}`;
  fill('deposits', deposits.list, (row, deposit) => {
    for (const value of [deposit.depositId.slice(0, 16) + '…:' + deposit.depositId.split(':')[1], deposit.amountSats, DEPOSIT_STATUS[deposit.status] ?? deposit.status, `${deposit.confirmations} of ${deposit.needed}`]) cell(row, value);
  });
}

document.getElementById('deposit-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const output = document.getElementById('deposit-error');
  const amount = optionalInteger(form.get('amountSats'));
  try {
    const answer = await api('/account/deposit-address', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(amount === undefined ? {} : { amountSats: amount }) });
    document.getElementById('deposit-address').textContent = answer.address;
    const link = document.getElementById('deposit-uri');
    link.href = answer.uri;
    link.textContent = answer.uri;
    // An image, not markup: the SVG is shown, never parsed into the page.
    const qr = document.getElementById('deposit-qr');
    qr.src = `data:image/svg+xml;base64,${btoa(answer.qrSvg)}`;
    qr.hidden = false;
    output.textContent = '';
  } catch (error) {
    output.textContent = error.message;
  }
});

// One idempotency key per withdrawal the user means: kept until the exchange answers, so a
// resubmission after a lost answer is the same withdrawal, never a second one.
let withdrawalKey = null;

document.getElementById('withdraw-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const output = document.getElementById('withdraw-error');
  withdrawalKey ??= `page-${crypto.randomUUID()}`;
  try {
    const answer = await api('/withdrawals', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: withdrawalKey, destination: String(form.get('destination')).trim(), amountSats: Number(form.get('amountSats')) }) });
    withdrawalKey = null;
    output.textContent = `${answer.withdrawalId}: ${answer.amountSats} sat to ${answer.destination}, ${answer.state}`;
    event.target.reset();
    refresh();
  } catch (error) {
    // Refused (a bad address, too little money: 4xx): the next try is a new withdrawal. After a
    // lost answer or an unreachable exchange the key stays: trying again cannot pay twice.
    if (error.status !== undefined && error.status < 500) withdrawalKey = null;
    output.textContent = error.message;
  }
});

function optionalInteger(value) {
  return value === '' ? undefined : Number(value);
}

document.getElementById('mandate-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const output = document.getElementById('mandate-error');
  const minutes = optionalInteger(form.get('validMinutes'));
  const request = {
    side: form.get('side'),
    article: form.get('article'),
    priceSats: Number(form.get('priceSats')),
    ...(optionalInteger(form.get('trades')) === undefined ? {} : { trades: optionalInteger(form.get('trades')) }),
    ...(minutes === undefined ? {} : { validForSeconds: minutes * 60 }),
  };
  try {
    await api('/mandates', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    output.textContent = '';
    await refresh();
  } catch (error) {
    output.textContent = error.message;
  }
});

document.getElementById('buy-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const output = document.getElementById('buy-error');
  const price = form.get('priceSats');
  const query = new URLSearchParams({ async: '1', ...(price === '' ? {} : { price }) });
  try {
    await api(`/buy/${form.get('article')}?${query}`, { method: 'POST', body: form.get('work') });
    output.textContent = '';
    await refresh();
  } catch (error) {
    output.textContent = error.message;
  }
});

if (!token) {
  document.getElementById('read-only').hidden = false;
  for (const control of document.querySelectorAll('form button, form input, form select')) control.disabled = true;
}

await refresh();
setInterval(refresh, REFRESH_MS); // tidy-allow: the browser page polls the local API
