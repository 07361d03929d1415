// What a scenario hands back, and the human table of it. A figure is a number, a flag or a short
// text; a goal names a figure and says whether it was met. The entry prints every scenario's
// table, then one JSON line with every figure (bench/run.ts's convention: the line is last).

export type Figure = number | boolean | string;

export interface Goal {
  /** The figure the goal is about (a key of `figures`). */
  readonly figure: string;
  /** What it had to be, for people ("0", "true", "> 0"). */
  readonly expected: string;
  readonly met: boolean;
}

export interface ScenarioResult {
  readonly name: string;
  readonly figures: Record<string, Figure>;
  readonly goals: readonly Goal[];
  /** Lines worth reading beside the table: reproductions, samples of odd answers. */
  readonly notes: readonly string[];
}

/** Collects figures and goals while a scenario runs. */
export class Report {
  readonly figures: Record<string, Figure> = {};
  readonly goals: Goal[] = [];
  readonly notes: string[] = [];

  constructor(readonly name: string) {}

  /** Sets a figure; one that could not be measured (undefined) shows as "none". */
  set(figure: string, value: Figure | undefined): this {
    this.figures[figure] = value ?? 'none';
    return this;
  }

  /** Sets a figure and states its goal at once. */
  expect(figure: string, value: Figure | undefined, expected: string, met: boolean): this {
    this.figures[figure] = value ?? 'none';
    this.goals.push({ figure, expected, met });
    return this;
  }

  note(line: string): void {
    if (this.notes.length < 40) this.notes.push(line);
  }

  result(): ScenarioResult {
    return { name: this.name, figures: this.figures, goals: this.goals, notes: this.notes };
  }
}

/** The figures of one scenario as a table: figure, value, goal, met. */
export function formatTable(result: ScenarioResult): string {
  const goals = new Map(result.goals.map((goal) => [goal.figure, goal]));
  const rows = Object.entries(result.figures).map(([figure, value]) => {
    const goal = goals.get(figure);
    return [figure, formatValue(value), goal?.expected ?? '', goal === undefined ? '' : goal.met ? 'ok' : 'FAILED'];
  });
  const header = ['figure', 'value', 'goal', ''];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  const title = `== ${result.name} ${'='.repeat(Math.max(0, widths.reduce((sum, width) => sum + width + 2, 0) - result.name.length - 4))}`;
  const notes = result.notes.map((note) => `  note: ${note}`);
  return [title, line(header), ...rows.map(line), ...notes].join('\n');
}

function formatValue(value: Figure): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(1);
  return String(value);
}

/** The goals that failed, as "scenario.figure". */
export function failedGoals(results: readonly ScenarioResult[]): string[] {
  return results.flatMap((result) => result.goals.filter((goal) => !goal.met).map((goal) => `${result.name}.${goal.figure}`));
}
