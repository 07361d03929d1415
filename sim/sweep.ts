// `bitwrk sim sweep`: runs one scenario over a grid of market parameters (fee, bid lifetime, and the
// share of adaptive sellers) and scores each setting on a stated objective:
//
//   the most purchases completed; among the settings within 2% of that, the lowest mean cost per
//   trade to the buyer (price + fee); then the highest fee income.
//
// That is: first the market must work for its users, then it should be cheap for buyers, and only
// then does the operator's income count. Every run is deterministic from the scenario's seed, so a
// sweep is too.
import { linePlot } from './report.js';
import type { Scenario } from './scenario.js';
import { simulate, type SimulationResult } from './simulator.js';

export interface SweepGrid {
  readonly feeNumerators: readonly number[];
  readonly bidLifetimesSeconds: readonly number[];
  readonly adaptiveShares: readonly number[];
}

export const DEFAULT_GRID: SweepGrid = { feeNumerators: [1, 3, 6], bidLifetimesSeconds: [60, 120, 300], adaptiveShares: [0, 0.3, 0.7] };

export interface SweepRow {
  readonly feeNumerator: number;
  readonly bidLifetimeSeconds: number;
  readonly adaptiveShare: number;
  readonly completed: number;
  readonly failed: number;
  readonly trades: number;
  readonly meanBuyerCostSats: number | null;
  readonly feeIncomeSats: number;
  readonly fillRate: number | null;
}

export interface SweepResult {
  readonly base: Scenario;
  readonly rows: readonly SweepRow[];
  /** Index into rows of the recommended setting. */
  readonly recommended: number;
}

export const OBJECTIVE = 'most purchases completed; within 2% of that, the lowest mean buyer cost per trade (price + fee); then the most fee income';

function rowOf(scenario: Scenario, result: SimulationResult): SweepRow {
  const { totals } = result;
  return {
    feeNumerator: scenario.feeNumerator,
    bidLifetimeSeconds: scenario.bidLifetimeSeconds,
    adaptiveShare: scenario.adaptiveSellers,
    completed: result.ended['buy done'] ?? 0,
    failed: result.ended['buy failed'] ?? 0,
    trades: totals.trades,
    meanBuyerCostSats: totals.trades === 0 ? null : Math.round((totals.volumeSats + totals.feesSats) / totals.trades),
    feeIncomeSats: totals.feesSats,
    fillRate: totals.buyBids === 0 ? null : totals.buyBidsMatched / totals.buyBids,
  };
}

/** Picks the recommended row by the objective above. */
export function recommend(rows: readonly SweepRow[]): number {
  const best = Math.max(...rows.map((row) => row.completed));
  const cost = (row: SweepRow): number => row.meanBuyerCostSats ?? Number.POSITIVE_INFINITY;
  let chosen = -1;
  rows.forEach((row, index) => {
    if (row.completed < best * 0.98) return;
    if (chosen < 0) return void (chosen = index);
    const current = rows[chosen]!;
    if (cost(row) < cost(current) || (cost(row) === cost(current) && row.feeIncomeSats > current.feeIncomeSats)) chosen = index;
  });
  return chosen;
}

export async function sweep(base: Scenario, grid: SweepGrid, onRun?: (index: number, total: number, row: SweepRow) => void): Promise<SweepResult> {
  const settings = grid.feeNumerators.flatMap((feeNumerator) => grid.bidLifetimesSeconds.flatMap((bidLifetimeSeconds) => grid.adaptiveShares.map((adaptiveSellers) => ({ feeNumerator, bidLifetimeSeconds, adaptiveSellers }))));
  const rows: SweepRow[] = [];
  for (const [index, setting] of settings.entries()) {
    const scenario: Scenario = { ...base, ...setting };
    const row = rowOf(scenario, await simulate(scenario));
    rows.push(row);
    onRun?.(index + 1, settings.length, row);
  }
  return { base, rows, recommended: recommend(rows) };
}

const HEADER = ['fee %', 'lifetime s', 'adaptive', 'completed', 'failed', 'trades', 'buyer cost sat', 'fee income sat', 'fill rate'];

function cells(row: SweepRow): string[] {
  return [row.feeNumerator, row.bidLifetimeSeconds, row.adaptiveShare, row.completed, row.failed, row.trades, row.meanBuyerCostSats ?? '-', row.feeIncomeSats, row.fillRate === null ? '-' : `${(100 * row.fillRate).toFixed(1)}%`].map(String);
}

export function sweepTable(result: SweepResult): string {
  const table = [HEADER, ...result.rows.map(cells)];
  const widths = HEADER.map((_, column) => Math.max(...table.map((line) => line[column]!.length)));
  const lines = table.map((line, index) => `${index - 1 === result.recommended ? '*' : ' '} ${line.map((cell, column) => cell.padStart(widths[column]!)).join('  ')}`);
  const chosen = result.rows[result.recommended]!;
  return `objective: ${OBJECTIVE}\n${lines.join('\n')}\nrecommended (*): fee ${chosen.feeNumerator}%, bid lifetime ${chosen.bidLifetimeSeconds} s, adaptive sellers ${chosen.adaptiveShare}\n`;
}

export function sweepCsv(result: SweepResult): string {
  const header = 'feeNumerator,bidLifetimeSeconds,adaptiveShare,completed,failed,trades,meanBuyerCostSats,feeIncomeSats,fillRate,recommended';
  const lines = result.rows.map((row, index) => [row.feeNumerator, row.bidLifetimeSeconds, row.adaptiveShare, row.completed, row.failed, row.trades, row.meanBuyerCostSats ?? '', row.feeIncomeSats, row.fillRate === null ? '' : row.fillRate.toFixed(4), index === result.recommended ? 1 : 0].join(','));
  return `${header}\n${lines.join('\n')}\n`;
}

export function sweepHtml(result: SweepResult): string {
  const labels = result.rows.map((row) => `fee ${row.feeNumerator}%, ${row.bidLifetimeSeconds} s, adaptive ${row.adaptiveShare}`);
  const escape = (text: string): string => text.replace(/[&<>"]/g, (character) => `&#${character.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BitWrk pricing sweep, seed ${result.base.seed}</title>
<style>body{font-family:sans-serif;max-width:780px;margin:2em auto}pre{background:#f4f4f4;padding:1em;overflow-x:auto}</style></head>
<body><h1>BitWrk pricing sweep</h1>
<pre>${escape(sweepTable(result))}</pre>
${linePlot('Purchases completed, by setting (numbered as in the list below)', 'purchases', [{ name: 'completed', values: result.rows.map((row) => row.completed) }, { name: 'failed', values: result.rows.map((row) => row.failed) }], 'setting')}
${linePlot('Mean buyer cost per trade, by setting', 'sat', [{ name: 'price + fee', values: result.rows.map((row) => row.meanBuyerCostSats) }], 'setting')}
${linePlot('Fee income, by setting', 'sat', [{ name: 'fees', values: result.rows.map((row) => row.feeIncomeSats) }], 'setting')}
<ol start="0">${labels.map((label) => `<li>${escape(label)}</li>`).join('')}</ol>
<h2>Base scenario</h2><pre>${escape(JSON.stringify(result.base, null, 2))}</pre>
</body></html>
`;
}

// ---- The spot-check rate -------------------------------------------------------------------------

/** One spot-check rate's run: what checking cost and what it caught. */
export interface CheckRow {
  readonly spotCheckPercent: number;
  /** Purchases that ended with a result, less the wrong ones paid for: what buyers got. */
  readonly rightResults: number;
  readonly cheatingPaid: number;
  readonly cheatingTrades: number;
  readonly witnessTrades: number;
  /** All buyers paid (prices and fees, checks included), per right result. */
  readonly spendPerRightResultSats: number | null;
  readonly checkingShare: number | null;
}

export const CHECK_OBJECTIVE = 'the lowest buyer spend per right result (all prices and fees, checks and cheated purchases included, over purchases that ended with a right result)';

/** Runs the scenario once per spot-check rate and recommends one by CHECK_OBJECTIVE. */
export async function spotCheckSweep(base: Scenario, percents: readonly number[], onRun?: (index: number, total: number, row: CheckRow) => void): Promise<{ readonly base: Scenario; readonly rows: readonly CheckRow[]; readonly recommended: number }> {
  const rows: CheckRow[] = [];
  for (const [index, spotCheckPercent] of percents.entries()) {
    const result = await simulate({ ...base, spotCheckPercent });
    const v = result.verification;
    // Cheated purchases that were paid ended "done" too, but with a wrong result.
    const rightResults = Math.max(0, (result.ended['buy done'] ?? 0) - v.cheatingPaid);
    const row: CheckRow = {
      spotCheckPercent,
      rightResults,
      cheatingPaid: v.cheatingPaid,
      cheatingTrades: v.cheatingTrades,
      witnessTrades: v.witnessTrades,
      spendPerRightResultSats: rightResults === 0 ? null : Math.round(v.buyerSpendSats / rightResults),
      checkingShare: v.buyerSpendSats === 0 ? null : v.witnessSpendSats / v.buyerSpendSats,
    };
    rows.push(row);
    onRun?.(index + 1, percents.length, row);
  }
  const cost = (row: CheckRow): number => row.spendPerRightResultSats ?? Number.POSITIVE_INFINITY;
  const recommended = rows.reduce((best, row, index) => (cost(row) < cost(rows[best]!) ? index : best), 0);
  return { base, rows, recommended };
}

export function checkTable(result: Awaited<ReturnType<typeof spotCheckSweep>>): string {
  const header = ['spot-check %', 'right results', 'cheats paid / delivered', 'witnesses', 'checking share', 'spend per right result sat'];
  const table = [header, ...result.rows.map((row) => [row.spotCheckPercent, row.rightResults, `${row.cheatingPaid} / ${row.cheatingTrades}`, row.witnessTrades, row.checkingShare === null ? '-' : `${(100 * row.checkingShare).toFixed(1)}%`, row.spendPerRightResultSats ?? '-'].map(String))];
  const widths = header.map((_, column) => Math.max(...table.map((line) => line[column]!.length)));
  const lines = table.map((line, index) => `${index - 1 === result.recommended ? '*' : ' '} ${line.map((cell, column) => cell.padStart(widths[column]!)).join('  ')}`);
  return `objective: ${CHECK_OBJECTIVE}\n${lines.join('\n')}\nrecommended (*): spot-check ${result.rows[result.recommended]!.spotCheckPercent}%\n`;
}
