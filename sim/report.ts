// The simulator's report: a summary table (printed and written), a CSV time series per simulated
// minute, and a self-contained HTML page with SVG plots (price per article, spread and depth, fill
// rate, time to match, seller utilisation, transaction outcomes, fee income). No wall-clock times
// and no randomness: the same seed gives the same bytes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MinuteRow } from './metrics.js';
import type { SimulationResult } from './simulator.js';

const ratio = (part: number, whole: number): string => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`);

export function summaryTable(result: SimulationResult): string {
  const { totals, scenario, checks, faults, verification } = result;
  const decided = verification.disputesByEvidence + verification.disputesByArbiter;
  const rows: Array<[string, string | number]> = [
    ['seed', scenario.seed],
    ['buyers / sellers / articles', `${scenario.buyers} / ${scenario.sellers} / ${scenario.articles}`],
    ['simulated hours', scenario.hours],
    ['fee / bid lifetime', `${scenario.feeNumerator}% / ${scenario.bidLifetimeSeconds} s`],
    ['network latency / loss', `${scenario.network.latencyMinMs}-${scenario.network.latencyMaxMs} ms / ${scenario.network.lossProbability}`],
    ['buy bids / sell bids / expired', `${totals.buyBids} / ${totals.sellBids} / ${totals.bidsExpired}`],
    ['trades', totals.trades],
    ['fill rate (buy bids matched)', ratio(totals.buyBidsMatched, totals.buyBids)],
    ['mean time to match (s)', totals.buyBidsMatched === 0 ? '-' : (totals.matchWaitMsTotal / totals.buyBidsMatched / 1000).toFixed(2)],
    ['average price (sat)', totals.trades === 0 ? '-' : Math.round(totals.volumeSats / totals.trades)],
    ['transactions finished / disputed / timed out', `${totals.finished} / ${totals.disputed} / ${totals.timedOut}`],
    ['disputes that paid the seller / price kept when nobody decided (sat)', `${totals.disputesPaid} / ${totals.forfeitedSats}`],
    ['cheating trades paid / delivered', `${verification.cheatingPaid} / ${verification.cheatingTrades} (${ratio(verification.cheatingPaid, verification.cheatingTrades)})`],
    ['honest sellers penalised', verification.honestPenalised],
    ['disputes by evidence / by arbiter / undecided', `${verification.disputesByEvidence} / ${verification.disputesByArbiter} / ${verification.disputesUndecided}`],
    ['decided disputes: money held mean / longest (s)', decided === 0 ? '-' : `${(verification.disputeHeldMsTotal / decided / 1000).toFixed(1)} / ${(verification.disputeHeldMsMax / 1000).toFixed(1)}`],
    ['checking: witness purchases / share of buyer spend', `${verification.witnessTrades} / ${ratio(verification.witnessSpendSats, verification.buyerSpendSats)}`],
    ['purchases done / failed', `${result.ended['buy done'] ?? 0} / ${result.ended['buy failed'] ?? 0}`],
    ['fee income (sat)', totals.feesSats],
    ['commands sent again / bids recovered from pushes / orphaned bids', `${faults.resentCommands} / ${faults.recoveredBids} / ${faults.orphanBids}`],
    ['exchange restarts (state hash kept)', faults.restarts],
    ['daemon faults: late errors / workers removed / seller restarts', `${faults.lateErrors} / ${faults.workersRemoved} / ${faults.sellerRestarts}`],
    ['stale facts the trade logic ignored', faults.staleFactsIgnored],
    ...(result.scenario.funding === 'chain' ? [['chain: reorgs / deposits reversed / accounts left owing', `${faults.reorgs} / ${faults.depositsReversed} / ${faults.accountsOverdrawn}`] as [string, string]] : []),
    ...(result.scenario.withdrawalsPerHour > 0 ? [['withdrawals: requested / completed (paid once, checked on chain) / batches / conflicted', `${faults.withdrawalsRequested} / ${faults.withdrawalsCompleted} / ${faults.payoutBatches} / ${faults.payoutsConflicted}`] as [string, string]] : []),
    ['journal records', result.journalRecords],
    ['core invariant checks / auditor checks', `${checks.coreInvariantChecks} / ${checks.auditorChecks}`],
    ['final state hash', result.stateHash.slice(0, 16)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return `${rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n')}\n`;
}

type Column = readonly [name: string, value: (row: MinuteRow) => number | string];

function columns(result: SimulationResult): Column[] {
  const base: Column[] = [
    ['minute', (row) => row.minute],
    ['trades', (row) => row.trades],
    ['volumeSats', (row) => row.volumeSats],
    ['feesSats', (row) => row.feesSats],
    ['buyBids', (row) => row.buyBids],
    ['sellBids', (row) => row.sellBids],
    ['bidsExpired', (row) => row.bidsExpired],
    ['buyBidsMatched', (row) => row.buyBidsMatched],
    ['meanMatchWaitMs', (row) => (row.buyBidsMatched === 0 ? '' : Math.round(row.matchWaitMsTotal / row.buyBidsMatched))],
    ['finished', (row) => row.finished],
    ['disputed', (row) => row.disputed],
    ['timedOut', (row) => row.timedOut],
    ['busySellers', (row) => row.busySellers],
  ];
  const perArticle = result.articles.flatMap((_, index): Column[] => [
    [`a${index}_trades`, (row) => row.articles[index]!.trades],
    [`a${index}_meanPriceSats`, (row) => (row.articles[index]!.trades === 0 ? '' : Math.round(row.articles[index]!.volumeSats / row.articles[index]!.trades))],
    [`a${index}_bestBidSats`, (row) => row.articles[index]!.bestBidSats ?? ''],
    [`a${index}_bestAskSats`, (row) => row.articles[index]!.bestAskSats ?? ''],
    [`a${index}_bidDepth`, (row) => row.articles[index]!.bidDepth],
    [`a${index}_askDepth`, (row) => row.articles[index]!.askDepth],
  ]);
  return [...base, ...perArticle];
}

export function timeSeriesCsv(result: SimulationResult): string {
  const all = columns(result);
  return `${all.map(([name]) => name).join(',')}\n${result.minutes.map((row) => all.map(([, value]) => value(row)).join(',')).join('\n')}\n`;
}

const COLOURS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#0a7480', '#57606a'];
const escapeHtml = (text: string): string => text.replace(/[&<>"]/g, (character) => `&#${character.charCodeAt(0)};`);

/** A line plot of one or more series over the minutes; null values leave gaps. */
export function linePlot(title: string, unit: string, series: ReadonlyArray<{ readonly name: string; readonly values: ReadonlyArray<number | null> }>, xLabel = 'minute'): string {
  const width = 720;
  const height = 200;
  const left = 56;
  const bottom = 22;
  const plotted = series.flatMap((line) => line.values.filter((value): value is number => value !== null));
  const max = Math.max(1, ...plotted);
  const min = Math.min(0, ...plotted);
  const length = Math.max(2, ...series.map((line) => line.values.length));
  const x = (index: number): string => (left + (index * (width - left - 8)) / (length - 1)).toFixed(1);
  const y = (value: number): string => (8 + ((max - value) * (height - bottom - 8)) / (max - min)).toFixed(1);
  const paths = series.map((line, index) => {
    let d = '';
    let pen = 'M';
    line.values.forEach((value, minute) => {
      if (value === null) return void (pen = 'M');
      d += `${pen}${x(minute)},${y(value)} `;
      pen = 'L';
    });
    return `<path d="${d.trim()}" fill="none" stroke="${COLOURS[index % COLOURS.length]}" stroke-width="1.5"/>`;
  });
  const legend = series.map((line, index) => `<tspan fill="${COLOURS[index % COLOURS.length]}">■ ${escapeHtml(line.name)}</tspan>`).join(' ');
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg viewBox="0 0 ${width} ${height + 18}" width="${width}" height="${height + 18}" role="img" aria-label="${escapeHtml(title)}">
<rect x="${left}" y="8" width="${width - left - 8}" height="${height - bottom - 8}" fill="#f8f8f8"/>
<text x="${left - 4}" y="14" text-anchor="end" font-size="11">${max} ${escapeHtml(unit)}</text><text x="${left - 4}" y="${height - bottom}" text-anchor="end" font-size="11">${min}</text>
<text x="${left}" y="${height - 6}" font-size="11">${xLabel} 0</text><text x="${width - 8}" y="${height - 6}" text-anchor="end" font-size="11">${xLabel} ${length - 1}</text>
${paths.join('\n')}
<text x="${left}" y="${height + 14}" font-size="12">${legend}</text></svg></figure>`;
}

export function htmlReport(result: SimulationResult): string {
  const { minutes, articles, scenario } = result;
  const meanOrNull = (sum: number, count: number): number | null => (count === 0 ? null : Math.round(sum / count));
  const perArticle = (pick: (row: MinuteRow, index: number) => number | null) => articles.map((name, index) => ({ name, values: minutes.map((row) => pick(row, index)) }));
  const plots = [
    linePlot('Mean trade price per minute, per article', 'sat', perArticle((row, index) => meanOrNull(row.articles[index]!.volumeSats, row.articles[index]!.trades))),
    ...articles.map((name, index) =>
      linePlot(`Spread of ${name}: best bid and best ask at each minute's end`, 'sat', [
        { name: 'best bid', values: minutes.map((row) => row.articles[index]!.bestBidSats) },
        { name: 'best ask', values: minutes.map((row) => row.articles[index]!.bestAskSats) },
      ]),
    ),
    linePlot('Depth: resting bids per side at each minute\'s end, all articles', 'bids', [
      { name: 'buy bids', values: minutes.map((row) => row.articles.reduce((sum, article) => sum + article.bidDepth, 0)) },
      { name: 'sell bids', values: minutes.map((row) => row.articles.reduce((sum, article) => sum + article.askDepth, 0)) },
    ]),
    linePlot('Fill rate: buy bids matched per buy bid placed', '%', [{ name: 'fill rate', values: minutes.map((row) => (row.buyBids === 0 ? null : Math.round((100 * row.buyBidsMatched) / row.buyBids))) }]),
    linePlot('Time to match: mean wait of a buy bid for its seller', 'ms', [{ name: 'mean wait', values: minutes.map((row) => meanOrNull(row.matchWaitMsTotal, row.buyBidsMatched)) }]),
    linePlot('Seller utilisation: sellers busy with a transaction', '%', [{ name: 'busy', values: minutes.map((row) => Math.round((100 * row.busySellers) / scenario.sellers)) }]),
    linePlot('Transaction outcomes per minute', 'transactions', [
      { name: 'finished', values: minutes.map((row) => row.finished) },
      { name: 'disputed', values: minutes.map((row) => row.disputed) },
      { name: 'timed out', values: minutes.map((row) => row.timedOut) },
    ]),
    linePlot('Fee income per minute', 'sat', [{ name: 'fees', values: minutes.map((row) => row.feesSats) }]),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BitWrk simulation, seed ${scenario.seed}</title>
<style>body{font-family:sans-serif;max-width:780px;margin:2em auto}pre{background:#f4f4f4;padding:1em;overflow-x:auto}figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:.3em}</style></head>
<body><h1>BitWrk market simulation</h1>
<pre>${escapeHtml(summaryTable(result))}</pre>
<p>How the agents' trades ended: ${Object.entries(result.ended).map(([name, count]) => `${escapeHtml(name)} ${count}`).join(', ')}.</p>
${plots.join('\n')}
<h2>Scenario</h2><pre>${escapeHtml(JSON.stringify(scenario, null, 2))}</pre>
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
