// The daemon's browser page: who it is, its account, its workers, mandates and trades, refreshed
// every two seconds. Server-rendered HTML with every value escaped; the JSON API has the same data.
import type { Daemon } from './daemon.js';
import { tradeView } from './local-api.js';

const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

function table(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  if (rows.length === 0) return '<p class="empty">none</p>';
  const head = columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('');
  const body = rows.map((row) => `<tr>${columns.map((column) => `<td>${escapeHtml(row[column])}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function renderStatusPage(daemon: Daemon): string {
  const info = daemon.info();
  const trades = daemon.trades().map(tradeView).reverse().slice(0, 100);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>BitWrk daemon ${escapeHtml(info.address)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f4f4f4}.empty{color:#888}</style></head>
<body><h1>BitWrk daemon</h1>
<p>Address <b id="address">${escapeHtml(info.address)}</b> on ${escapeHtml(info.network)} · exchange ${escapeHtml(info.exchangeUrl)} (${escapeHtml(info.exchangeState)}) · peer endpoint ${escapeHtml(info.peerUrl)}</p>
<h2>Trades</h2>${table(trades, ['tradeId', 'side', 'state', 'article', 'priceSats', 'txId', 'attempts', 'error'])}
<h2>Workers</h2>${table(daemon.workers.list() as unknown as Record<string, unknown>[], ['id', 'article', 'state', 'pushUrl', 'lastError'])}
<h2>Mandates</h2>${table(daemon.mandates.list() as unknown as Record<string, unknown>[], ['mandateId', 'side', 'article', 'priceSats', 'tradesLeft', 'expiresMs'])}
</body></html>`;
}
