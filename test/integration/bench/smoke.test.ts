/**
 * Keeps `npm run bench` working: the whole suite at smoke scale (same shapes
 * at 1/100, short churn and idle periods) through bench/run.sh, exactly as a
 * user runs it — its own network namespace, its own OVS sandboxes, agent and
 * operator processes, control plane. Every benchmark must produce its figures
 * with finite numbers; a few must also be right (OVS equal to the kernel
 * after the churn, one group modify per weight change, every B7 flow
 * delivered, the default hash-slot layout moving few flows in B8). The
 * timing figures themselves are not judged at this scale.
 *
 * The bench's OVS = kernel predicate (bench/lib/compare.ts) is pure and is
 * checked first, without root: B5's verdict is only as good as it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { layoutSlots } from '../../../src/agent/hash-slots.js';
import { shareMismatch, type Path } from '../../../bench/lib/compare.js';
import { run } from '../../harness/exec.js';
import { missingControlPlane } from '../../harness/kube.js';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]) ?? missingControlPlane();
const REPO = new URL('../../..', import.meta.url).pathname;

interface Result {
  scale: { name: string };
  machine: Record<string, unknown>;
  figures: Array<{ bench: string; what: string; ours: number | null; peer?: number | null; ratio?: number | null; goalMet?: boolean; note?: string }>;
  errors: Array<{ bench: string; error: string }>;
}

/** How many figures each benchmark reports. */
const EXPECTED: Record<string, number> = { B1: 1, B2: 1, B3: 1, Memory: 1, B4: 8, B5: 7, B6: 7, B7: 12, B8: 6, B9: 8, B10: 2 };

const paths = (weights: number[]): Path[] => weights.map((weight, i) => ({ ip: `198.18.0.${i + 1}`, weight }));
const slotted = (weights: number[], previous?: string[]): Path[] => layoutSlots(paths(weights).map((p) => ({ vtep: p.ip, weight: p.weight })), previous)!.map((vtep) => ({ ip: vtep, weight: 1 }));
/** Equal buckets, `counts[i]` of them for VTEP i. */
const dealt = (counts: number[]): Path[] => counts.flatMap((n, i) => Array.from({ length: n }, () => ({ ip: `198.18.0.${i + 1}`, weight: 1 })));

describe('the bench\'s OVS = kernel predicate', () => {
  it('accepts the agent\'s layouts: hash slots, weighted buckets, one bucket for one VTEP', () => {
    for (const weights of [[1, 2, 3, 4], [100, 1], [7, 5, 3, 1], [1, 1, 1]]) {
      expect(slotted(weights).length).toBeGreaterThan(weights.length);
      expect(shareMismatch(paths(weights), slotted(weights)), weights.join(':')).toBeUndefined();
    }
    expect(shareMismatch(paths([1, 1, 1, 1, 1]), slotted([1, 1, 1, 1, 1], slotted([1, 1, 1, 1]).map((p) => p.ip)))).toBeUndefined();
    expect(shareMismatch(paths([1, 2, 3, 4]), paths([1, 2, 3, 4]))).toBeUndefined();
    expect(shareMismatch(paths([2, 2, 2]), paths([1, 1, 1]))).toBeUndefined();
    expect(shareMismatch(paths([7]), [{ ip: '198.18.0.1', weight: 1 }])).toBeUndefined();
    // A kernel group naming one VTEP twice: its weights add up.
    expect(shareMismatch([...paths([1, 1]), { ip: '198.18.0.1', weight: 2 }], dealt([12, 4]))).toBeUndefined();
  });

  it('rejects a missing or extra VTEP, whatever the shares', () => {
    expect(shareMismatch(paths([1, 1, 1, 1]), slotted([1, 1, 1]))).toMatch(/missing 198.18.0.4/);
    expect(shareMismatch(paths([1, 1, 1]), slotted([1, 1, 1, 1]))).toMatch(/extra 198.18.0.4/);
    expect(shareMismatch(paths([1, 1]), [{ ip: '198.18.0.1', weight: 1 }, { ip: '198.18.0.9', weight: 1 }])).toMatch(/missing 198.18.0.2, extra 198.18.0.9/);
  });

  it('accepts slots less than one slot off the weight\'s share, and no more', () => {
    // 1:2 in 16 slots: 5.33 and 10.67 slots exactly.
    expect(shareMismatch(paths([1, 2]), dealt([5, 11]))).toBeUndefined();
    expect(shareMismatch(paths([1, 2]), dealt([6, 10]))).toBeUndefined();
    expect(shareMismatch(paths([1, 2]), dealt([7, 9]))).toMatch(/198.18.0.1 has 43.75 % of 16 buckets for 33.33 %/);
    expect(shareMismatch(paths([1, 2]), dealt([4, 12]))).toMatch(/198.18.0.1 has 25.00 % of 16 buckets for 33.33 %/);
    // One slot off exactly is more than any largest-remainder deal can be.
    expect(shareMismatch(paths([1, 3]), dealt([5, 11]))).toMatch(/31.25 % of 16 buckets for 25.00 %/);
    // The table of the old weights after a weight change.
    expect(shareMismatch(paths([4, 3, 2, 1]), slotted([1, 2, 3, 4]))).toMatch(/198.18.0.1 has .* buckets for 40.00 %/);
  });

  it('wants the weights themselves when there is one bucket per VTEP', () => {
    // Within 1/4 of every share, but not what the kernel says.
    expect(shareMismatch(paths([1, 2, 3, 4]), paths([1, 1, 1, 1]))).toMatch(/198.18.0.1 has 25.00 % of 4 buckets for 10.00 %/);
    expect(shareMismatch(paths([3, 1]), paths([4, 1]))).toMatch(/of 2 buckets/);
  });
});

describe.skipIf(skip)('npm run bench at smoke scale', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evpn-bench-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the table and writes every figure with finite numbers', async () => {
    const out = join(dir, 'result.json');
    const { stdout } = await run('bash', [join(REPO, 'bench/run.sh'), '--scale', 'smoke', '--out', out], { timeoutMs: 330_000 });
    const result = JSON.parse(readFileSync(out, 'utf8')) as Result;
    expect(result.errors).toEqual([]);
    expect(result.scale.name).toBe('smoke');
    expect(result.machine).toHaveProperty('kernel');

    const counts: Record<string, number> = {};
    for (const f of result.figures) counts[f.bench] = (counts[f.bench] ?? 0) + 1;
    expect(counts).toEqual(EXPECTED);
    for (const f of result.figures) {
      expect(Number.isFinite(f.ours), `${f.bench} ${f.what}: ours`).toBe(true);
      if (f.peer !== undefined) expect(Number.isFinite(f.peer), `${f.bench} ${f.what}: peer`).toBe(true);
      // The table shows every figure.
      expect(stdout).toContain(f.what);
    }

    const figure = (bench: string, what: RegExp) => result.figures.find((f) => f.bench === bench && what.test(f.what))!;
    // Correctness the benchmarks rely on, not speed.
    expect(figure('B5', /differing from the kernel/).ours).toBe(0);
    for (const f of result.figures.filter((x) => x.bench === 'B4' && /mods per change/.test(x.what))) expect(f.ours).toBe(1);
    // Every weight change B4 read back in OVS was counted by the agent's convergence histogram.
    for (const f of result.figures.filter((x) => x.bench === 'B4' && /did not count/.test(x.what))) expect(f.ours).toBe(0);
    expect(figure('Memory', /RSS/).ours).toBeGreaterThan(10);
    expect(figure('B6', /rendered$/).ours).toBeGreaterThan(0);
    // The roll-ups come after the specs (the same watches, one moment each).
    expect(figure('B6', /rolled up$/).ours).toBeGreaterThanOrEqual(figure('B6', /rendered$/).ours!);
    // B9: each weight change is one group modify in OVS, nothing more.
    const b9Changes = result.figures.filter((f) => f.bench === 'B9' && /weight change → OVS/.test(f.what));
    expect(b9Changes).toHaveLength(2);
    for (const f of b9Changes) expect(f.note).toMatch(/\b(\d+) group modifies for \1 changes/);
    // A VtepGroup change is a status write, never a node's spec.
    expect(figure('B6', /VtepNodeState writes over/).ours).toBe(0);
    // The default hash-slot layout moves at most twice the least any layout must,
    // for both a joining and a leaving VTEP; and B8 reports the old layout too.
    const remaps = result.figures.filter((f) => f.bench === 'B8' && /dp_hash, slots/.test(f.what));
    expect(remaps).toHaveLength(2);
    for (const f of remaps) expect(f.goalMet, `${f.what}: ${f.ours} %`).toBe(true);
    expect(result.figures.filter((f) => f.bench === 'B8' && /dp_hash, weights/.test(f.what))).toHaveLength(2);
    // B10 ran the whole lab (it checks the kernels itself) and timed both directions.
    for (const what of [/created → all 2\/2/, /deleted → kernels clear/]) expect(figure('B10', what).ours).toBeGreaterThan(0);
  }, 340_000);
});
