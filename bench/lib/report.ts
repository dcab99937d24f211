/**
 * One figure of a benchmark: ours beside the peer measured in the same run,
 * as a ratio against a goal. Lower is better unless `higherIsBetter`.
 */
export interface Figure {
  bench: string;
  what: string;
  ours: number;
  peer?: number;
  peerName?: string;
  unit: string;
  /** Goal on the ratio ours/peer, or on `ours` itself when there is no peer. */
  goal?: { max?: number; min?: number; on: 'ratio' | 'value' };
  runs?: number;
  note?: string;
}

export function ratio(f: Figure): number | undefined {
  return f.peer === undefined || f.peer === 0 ? undefined : f.ours / f.peer;
}

export function goalMet(f: Figure): boolean | undefined {
  if (!f.goal) return undefined;
  const x = f.goal.on === 'ratio' ? ratio(f) : f.ours;
  if (x === undefined) return undefined;
  return (f.goal.max === undefined || x <= f.goal.max) && (f.goal.min === undefined || x >= f.goal.min);
}

function fmt(n: number | undefined, digits = 2): string {
  if (n === undefined || Number.isNaN(n)) return '–';
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

function goalText(f: Figure): string {
  if (!f.goal) return '';
  const bound = f.goal.max !== undefined ? `≤ ${f.goal.max}` : `≥ ${f.goal.min}`;
  return `${f.goal.on === 'ratio' ? 'ratio' : 'value'} ${bound}`;
}

/** The table `npm run bench` prints. */
export function renderTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => {
    const met = goalMet(f);
    return [
      f.bench,
      f.note ? `${f.what} [${figures.indexOf(f) + 1}]` : f.what,
      `${fmt(f.ours)} ${f.unit}`,
      f.peer === undefined ? '–' : `${fmt(f.peer)} ${f.unit} (${f.peerName ?? 'peer'})`,
      fmt(ratio(f)),
      goalText(f),
      met === undefined ? '' : met ? 'met' : 'NOT met',
    ];
  });
  const header = ['bench', 'what', 'ours', 'peer', 'ratio', 'goal', ''];
  const notes = figures.flatMap((f, i) => (f.note ? [`  [${i + 1}] ${f.bench}: ${f.note}`] : []));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const table = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  return [...table, ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}
