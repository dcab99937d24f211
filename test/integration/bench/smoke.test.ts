/**
 * Keeps `npm run bench` working: the whole suite at smoke scale (same shapes
 * at 1/100, short churn and idle periods) through bench/run.sh, exactly as a
 * user runs it — its own network namespace, its own OVS sandboxes, agent and
 * operator processes, control plane. Every benchmark must produce its figures
 * with finite numbers; a few must also be right (OVS equal to the kernel
 * after the churn, one group modify per weight change, every B7 flow
 * delivered). The timing figures themselves are not judged at this scale.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../harness/exec.js';
import { missingControlPlane } from '../../harness/kube.js';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]) ?? missingControlPlane();
const REPO = new URL('../../..', import.meta.url).pathname;

interface Result {
  scale: { name: string };
  machine: Record<string, unknown>;
  figures: Array<{ bench: string; what: string; ours: number | null; peer?: number | null; ratio?: number | null; goalMet?: boolean }>;
  errors: Array<{ bench: string; error: string }>;
}

/** How many figures each benchmark reports. */
const EXPECTED: Record<string, number> = { B1: 1, B2: 1, B3: 1, Memory: 1, B4: 6, B5: 5, B6: 3, B7: 8, B8: 4 };

describe.skipIf(skip)('npm run bench at smoke scale', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evpn-bench-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the table and writes every figure with finite numbers', async () => {
    const out = join(dir, 'result.json');
    const { stdout } = await run('bash', [join(REPO, 'bench/run.sh'), '--scale', 'smoke', '--out', out], { timeoutMs: 170_000 });
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
    expect(figure('Memory', /RSS/).ours).toBeGreaterThan(10);
    expect(figure('B6', /rendered/).ours).toBeGreaterThan(0);
  }, 180_000);
});
