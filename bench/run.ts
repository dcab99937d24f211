/**
 * `npm run bench` (through bench/run.sh, which puts this process in a
 * private network namespace): builds the scale's kernel state, runs each
 * benchmark beside its peer, prints the table and writes
 * bench/results/latest.json.
 *
 * Flags: --scale full|smoke (default full), --only B1,B2,... (names: B1..B10,
 * MEMORY), --out FILE, --bucket-layout slots|weights (default slots, the
 * fabric's default: how B2 and B3's agent lay out dp_hash groups, so the
 * cost of the slot layout can be measured against the old one in the same
 * conditions; B7 and B8 always measure both). B3 needs B1's and B2's
 * peers, and B4, B5 and MEMORY run on B3's agent, so asking for them runs
 * what they depend on.
 *
 * A benchmark that fails is reported (stderr, `errors` in the JSON, exit
 * status 1) and the others still run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { OvsSandbox } from '../test/harness/ovs.js';
import { benchKernelDump } from './b1-kernel-dump.js';
import { benchOvsProgramming } from './b2-ovs-programming.js';
import { benchColdStart } from './b3-cold-start.js';
import { benchIncremental } from './b4-incremental.js';
import { benchChurn } from './b5-churn.js';
import { benchOperator } from './b6-operator.js';
import { benchWeightFidelity } from './b7-weight-fidelity.js';
import { benchFlowRemap } from './b8-flow-remap.js';
import { benchSpecPath } from './b9-spec-path.js';
import { benchLab } from './b10-lab.js';
import { AgentSession } from './lib/agent-session.js';
import { loadKernelState, clearKernelState } from './lib/kernel-state.js';
import { machineFacts } from './lib/machine.js';
import { goalMet, ratio, renderTable, type Figure } from './lib/report.js';
import { extrasOf, FULL, SMOKE } from './lib/scale.js';
import { TrafficNode } from './lib/traffic.js';

const { values } = parseArgs({
  options: { scale: { type: 'string', default: 'full' }, only: { type: 'string' }, out: { type: 'string' }, 'bucket-layout': { type: 'string', default: 'slots' } },
});
const layout = values['bucket-layout'];
if (layout !== 'slots' && layout !== 'weights') {
  process.stderr.write(`bench: --bucket-layout must be slots or weights, not ${layout}\n`);
  process.exit(2);
}
const scale = values.scale === 'smoke' ? SMOKE : FULL;
const only = values.only?.split(',').map((s) => s.trim().toUpperCase());
const wanted = (name: string) => !only || only.includes(name);
const agentBenches = ['B4', 'B5', 'MEMORY'].some(wanted);
const runB3 = wanted('B3') || agentBenches;

const figures: Figure[] = [];
const errors: Array<{ bench: string; error: string }> = [];
const started = Date.now();
const machine = machineFacts();
process.stderr.write(`bench: scale ${scale.name}, bucketLayout ${layout}, on ${machine.cores} × ${machine.cpuModel}, kernel ${machine.kernel}, load ${machine.loadAverage.join(' ')}\n`);

/** Runs one benchmark; a failure is recorded and the run goes on. */
async function step(bench: string, fn: () => Promise<Figure[]>): Promise<boolean> {
  const t = Date.now();
  process.stderr.write(`bench: ${bench}…\n`);
  try {
    figures.push(...(await fn()));
    process.stderr.write(`bench: ${bench} done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    return true;
  } catch (err) {
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`bench: ${bench} FAILED: ${error}\n`);
    errors.push({ bench, error: err instanceof Error ? err.message : String(err) });
    return false;
  }
}

const peerOf = (bench: string) => figures.find((f) => f.bench === bench)?.peer;

if (wanted('B1') || wanted('B2') || runB3) {
  loadKernelState(scale);
  const ovs = await OvsSandbox.start();
  const session = new AgentSession(ovs.rundir);
  try {
    if (wanted('B1') || runB3) await step('B1', () => benchKernelDump(scale));
    if (wanted('B2') || runB3) await step('B2', () => benchOvsProgramming(scale, ovs, layout));
    const b1 = peerOf('B1');
    const b2 = peerOf('B2');
    if (runB3 && b1 !== undefined && b2 !== undefined) {
      const ready = await step('B3', async () => {
        const out = await benchColdStart(scale, ovs, session, { ms: b1 + b2, name: 'B1 + B2 peers' }, layout);
        return out.filter((f) => wanted(f.bench.toUpperCase()));
      });
      if (ready && (wanted('B4') || wanted('B5'))) {
        if (wanted('B4')) await step('B4', () => benchIncremental(scale, ovs, session, layout));
        if (wanted('B5')) await step('B5', () => benchChurn(scale, ovs, session));
      }
    }
  } finally {
    await session.stop().catch(() => undefined);
    session.dispose();
    await ovs.stop();
    clearKernelState(scale);
  }
}

if (wanted('B9')) {
  const ovs = await OvsSandbox.start();
  try {
    await ovs.addBridge('br-evpn');
    await step('B9', () => benchSpecPath(scale, ovs));
  } finally {
    await ovs.stop();
  }
}

if (wanted('B7') || wanted('B8')) {
  const node = await TrafficNode.create(19090);
  try {
    if (wanted('B7')) await step('B7', () => benchWeightFidelity(scale, node));
    if (wanted('B8')) await step('B8', () => benchFlowRemap(scale, node));
  } finally {
    await node.dispose();
  }
}

if (wanted('B6')) await step('B6', () => benchOperator(scale));
if (wanted('B10')) await step('B10', () => benchLab(scale));

process.stdout.write(renderTable(figures) + '\n');
for (const e of errors) process.stdout.write(`${e.bench} FAILED: ${e.error.split('\n')[0]}\n`);
const result = {
  date: new Date().toISOString(),
  scale,
  bucketLayout: layout,
  extras: extrasOf(scale),
  machine,
  durationSeconds: Math.round((Date.now() - started) / 1000),
  figures: figures.map((f) => ({ ...f, ratio: ratio(f), goalMet: goalMet(f) })),
  errors,
};
const out = values.out ?? new URL('results/latest.json', import.meta.url).pathname;
mkdirSync(new URL('results/', import.meta.url).pathname, { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
process.stderr.write(`bench: wrote ${out} (${result.durationSeconds} s)\n`);
process.exitCode = errors.length > 0 ? 1 : 0;
