// The simulator's report: a summary table (printed and written), a CSV time series per minute and
// a self-contained HTML page with SVG plots. No wall-clock times: the same seed gives the same bytes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MinuteRow, SimulationResult } from './simulator.js';

export function summaryTable(result: SimulationResult): string {
  const { totals, scenario } = result;
  const rows: Array<[string, string | number]> = [
    ['seed', scenario.seed],
    ['buyers / sellers', `${scenario.buyers} / ${scenario.sellers}`],
    ['simulated hours', scenario.hours],
    ['commands (rejected)', `${totals.commands} (${totals.rejected})`],
    ['bids placed / expired', `${totals.bidsPlaced} / ${totals.bidsExpired}`],
    ['trades', totals.trades],
    ['average price (sat)', totals.trades === 0 ? '-' : Math.round(totals.volumeSats / totals.trades)],
    ['transactions finished / disputed / timed out', `${totals.finished} / ${totals.disputed} / ${totals.timedOut}`],
    ['fee income (sat)', totals.feesSats],
    ['invariant checks passed', totals.invariantChecks],
    ['final state hash', result.stateHash.slice(0, 16)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return `${rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n')}\n`;
}

const COLUMNS: Array<keyof MinuteRow> = ['minute', 'trades', 'volumeSats', 'feesSats', 'bidsPlaced', 'bidsExpired', 'finished', 'disputed', 'timedOut'];

export function timeSeriesCsv(result: SimulationResult): string {
  return `${COLUMNS.join(',')}\n${result.minutes.map((row) => COLUMNS.map((column) => row[column]).join(',')).join('\n')}\n`;
}

function linePlot(title: string, values: readonly number[]): string {
  const width = 720;
  const height = 180;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((value, index) => `${(index * step).toFixed(1)},${(height - (value / max) * height).toFixed(1)}`).join(' ');
  return `<figure><figcaption>${title} (max ${max})</figcaption><svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${title}"><rect width="${width}" height="${height}" fill="#f8f8f8"/><polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="${points}"/></svg></figure>`;
}

export function htmlReport(result: SimulationResult): string {
  const prices = result.minutes.map((row) => (row.trades === 0 ? 0 : Math.round(row.volumeSats / row.trades)));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BitWrk simulation, seed ${result.scenario.seed}</title>
<style>body{font-family:sans-serif;max-width:780px;margin:2em auto}pre{background:#f4f4f4;padding:1em}figure{margin:1.5em 0}</style></head>
<body><h1>BitWrk market simulation</h1>
<pre>${summaryTable(result)}</pre>
${linePlot('Average trade price per minute (sat)', prices)}
${linePlot('Trades per minute', result.minutes.map((row) => row.trades))}
${linePlot('Bids placed per minute', result.minutes.map((row) => row.bidsPlaced))}
${linePlot('Fee income per minute (sat)', result.minutes.map((row) => row.feesSats))}
${linePlot('Transactions timed out per minute', result.minutes.map((row) => row.timedOut))}
</body></html>
`;
}

export function writeReport(result: SimulationResult, directory: string): string[] {
  mkdirSync(directory, { recursive: true });
  const files: Array<[string, string]> = [
    ['summary.txt', summaryTable(result)],
    ['timeseries.csv', timeSeriesCsv(result)],
    ['report.html', htmlReport(result)],
  ];
  for (const [name, content] of files) writeFileSync(join(directory, name), content);
  return files.map(([name]) => join(directory, name));
}
