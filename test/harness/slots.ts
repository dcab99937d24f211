/**
 * Reading select groups the way their traffic splits (agent tests and the
 * benchmarks). With the default bucketLayout=slots a dp_hash group has
 * 16–256 equal buckets (hash slots) dealt to the VTEPs by weight
 * (src/agent/hash-slots.ts), so a VTEP's share is a whole number of slots,
 * off its weight's share by less than one slot. One bucket per VTEP
 * (bucketLayout=weights, selection_method=hash, a single VTEP) carries the
 * weight itself and must match exactly.
 */
// No vitest import: the benchmarks use this outside the test runner.

export interface BucketLike {
  /** Absent for a bucket to a local port, which no VTEP share counts. */
  tunDst?: string | undefined;
  weight: number;
}

/** A path as the kernel or a spec has it. */
export interface WeightedVtep {
  vtep: string;
  weight: number;
}

/** The buckets of an `ovs-ofctl dump-groups` line (it prints a weight only when it is not 1). */
export function bucketsOfLine(line: string): Array<{ tunDst: string; weight: number }> {
  return [...line.matchAll(/bucket=bucket_id:\d+(?:,weight:(\d+))?,actions=set_field:([0-9a-f.:]+)->tun(?:_ipv6)?_dst/g)].map((m) => ({ tunDst: m[2]!, weight: Number(m[1] ?? 1) }));
}

/** VTEP → its share (0–1) of the buckets' weight, in first-seen order. */
export function vtepShares(buckets: readonly BucketLike[]): Map<string, number> {
  return shares(buckets.flatMap((b) => (b.tunDst === undefined ? [] : [{ vtep: b.tunDst, weight: b.weight }])));
}

function shares(paths: readonly WeightedVtep[]): Map<string, number> {
  const total = paths.reduce((a, p) => a + p.weight, 0);
  const out = new Map<string, number>();
  for (const p of paths) out.set(p.vtep, (out.get(p.vtep) ?? 0) + p.weight / total);
  return out;
}

/** Float noise when adding up shares; far below any slot (1/256). */
const EXACT = 1e-9;

/**
 * Why these buckets do not split traffic as the paths' weights say, or
 * undefined when they do: exactly the paths' VTEPs, each with its weight's
 * share to less than one bucket when the buckets are hash slots, exactly
 * otherwise.
 */
export function shareMismatch(buckets: readonly BucketLike[], paths: readonly WeightedVtep[]): string | undefined {
  const want = shares(paths);
  const got = vtepShares(buckets);
  const missing = [...want.keys()].filter((ip) => !got.has(ip));
  const extra = [...got.keys()].filter((ip) => !want.has(ip));
  if (missing.length > 0 || extra.length > 0) {
    return [missing.length ? `missing ${missing.join(' ')}` : '', extra.length ? `extra ${extra.join(' ')}` : ''].filter(Boolean).join(', ');
  }
  // Hash slots: more buckets than VTEPs, or 16 or more of weight 1 (64 VTEPs in 64 slots).
  const slotted = buckets.length > want.size || (buckets.length >= 16 && buckets.every((b) => b.weight === 1));
  const tolerance = slotted ? 1 / buckets.length : EXACT;
  for (const [ip, share] of want) {
    const off = Math.abs(got.get(ip)! - share);
    if (slotted ? off >= tolerance : off > tolerance) {
      return `${ip} has ${pct(got.get(ip)!)} of ${buckets.length} buckets for ${pct(share)} of the weight` + (slotted ? ` (more than one slot, ${pct(tolerance)}, off)` : '');
    }
  }
  return undefined;
}

export function pct(share: number): string {
  return `${(100 * share).toFixed(2)} %`;
}

/** Whether expectWeightShares would pass: for polling until the agent got there. */
export function sharesMatch(buckets: readonly BucketLike[], paths: readonly WeightedVtep[]): boolean {
  return shareMismatch(buckets, paths) === undefined;
}

/** Fails (throws) when the group does not split as the weights say. */
export function expectWeightShares(buckets: readonly BucketLike[], paths: readonly WeightedVtep[]): void {
  const why = shareMismatch(buckets, paths);
  if (why !== undefined) throw new Error(`the group does not split as the weights say: ${why}`);
}
