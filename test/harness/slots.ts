/**
 * Reading select groups the way their traffic splits. With the default
 * bucketLayout=slots a dp_hash group has 16–256 equal buckets (hash slots)
 * dealt to the VTEPs by weight (src/agent/hash-slots.ts); otherwise one
 * bucket per VTEP carries its weight. Either way a VTEP's share is its
 * buckets' weight over the group's.
 */
import { expect } from 'vitest';

export interface BucketLike {
  tunDst: string;
  weight: number;
}

/** The buckets of an `ovs-ofctl dump-groups` line (weight 1 when not printed). */
export function bucketsOfLine(line: string): BucketLike[] {
  return [...line.matchAll(/bucket=bucket_id:\d+(?:,weight:(\d+))?,actions=set_field:([0-9a-f.:]+)->tun(?:_ipv6)?_dst/g)].map((m) => ({ tunDst: m[2]!, weight: Number(m[1] ?? 1) }));
}

/** VTEP → its share of the group (0–1), in first-seen order. */
export function vtepShares(buckets: readonly BucketLike[]): Map<string, number> {
  const total = buckets.reduce((a, b) => a + b.weight, 0);
  const shares = new Map<string, number>();
  for (const b of buckets) shares.set(b.tunDst, (shares.get(b.tunDst) ?? 0) + b.weight / total);
  return shares;
}

/**
 * How far a VTEP's share may be from its weight's: under one slot for a
 * hash-slot layout (16 or more buckets of weight 1: the rounding of whole
 * slots), nothing for one weighted bucket per VTEP.
 */
function tolerance(buckets: readonly BucketLike[]): number {
  return buckets.length >= 16 && buckets.every((b) => b.weight === 1) ? 1 / buckets.length : 1e-9;
}

/** Whether expectWeightShares would pass: for polling until the agent got there. */
export function sharesMatch(buckets: readonly BucketLike[], vteps: ReadonlyArray<{ vtep: string; weight: number }>): boolean {
  const shares = vtepShares(buckets);
  const total = vteps.reduce((a, v) => a + v.weight, 0);
  const within = tolerance(buckets);
  return shares.size === vteps.length && vteps.every((v) => shares.has(v.vtep) && Math.abs(shares.get(v.vtep)! - v.weight / total) < within);
}

/** The group reaches exactly these VTEPs, each with its weight's share (see tolerance). */
export function expectWeightShares(buckets: readonly BucketLike[], vteps: ReadonlyArray<{ vtep: string; weight: number }>): void {
  const shares = vtepShares(buckets);
  const total = vteps.reduce((a, v) => a + v.weight, 0);
  expect([...shares.keys()].sort()).toEqual(vteps.map((v) => v.vtep).sort());
  const within = tolerance(buckets);
  for (const v of vteps) {
    const off = Math.abs(shares.get(v.vtep)! - v.weight / total);
    if (off >= within) expect.fail(`VTEP ${v.vtep}: share ${shares.get(v.vtep)} is ${off} from weight ${v.weight}/${total} (allowed: under ${within})`);
  }
}
