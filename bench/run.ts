/**
 * `npm run bench` (through bench/run.sh, which puts this process in a
 * private network namespace): builds the scale's kernel state, runs each
 * benchmark beside its peer, prints the table and writes
 * bench/results/latest.json.
 *
 * Flags: --scale full|smoke (default full), --only B1,B2,...
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { OvsSandbox } from '../test/harness/ovs.js';
import { benchKernelDump } from './b1-kernel-dump.js';
import { benchOvsProgramming } from './b2-ovs-programming.js';
import { loadKernelState, clearKernelState } from './lib/kernel-state.js';
import { machineFacts } from './lib/machine.js';
import { goalMet, ratio, renderTable, type Figure } from './lib/report.js';
import { FULL, SMOKE } from './lib/scale.js';

const { values } = parseArgs({
  options: { scale: { type: 'string', default: 'full' }, only: { type: 'string' }, out: { type: 'string' } },
});
const scale = values.scale === 'smoke' ? SMOKE : FULL;
const only = values.only?.split(',').map((s) => s.trim().toUpperCase());
const wanted = (name: string) => !only || only.includes(name);

const figures: Figure[] = [];
const started = Date.now();
const machine = machineFacts();
process.stderr.write(`bench: scale ${scale.name} on ${machine.cores} × ${machine.cpuModel}, kernel ${machine.kernel}\n`);

loadKernelState(scale);
const ovs = await OvsSandbox.start();
try {
  if (wanted('B1')) figures.push(...(await benchKernelDump(scale)));
  if (wanted('B2')) figures.push(...(await benchOvsProgramming(scale, ovs)));
} finally {
  await ovs.stop();
  clearKernelState(scale);
}

process.stdout.write(renderTable(figures) + '\n');
const result = {
  date: new Date().toISOString(),
  scale,
  machine,
  durationSeconds: Math.round((Date.now() - started) / 1000),
  figures: figures.map((f) => ({ ...f, ratio: ratio(f), goalMet: goalMet(f) })),
};
const out = values.out ?? new URL('results/latest.json', import.meta.url).pathname;
mkdirSync(new URL('results/', import.meta.url).pathname, { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
process.stderr.write(`bench: wrote ${out}\n`);
