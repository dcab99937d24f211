/**
 * The benchmark scale (DESIGN.md §10): 100,000 FDB entries over 10,000 fdb
 * nexthop groups of 4 members drawn from 256 VTEP nexthops. `smoke` keeps the
 * same shape at 1/100 so a test can run every benchmark quickly.
 */
export interface Scale {
  name: 'full' | 'smoke';
  vteps: number;
  groups: number;
  membersPerGroup: number;
  macs: number;
  runs: number;
}

export const FULL: Scale = { name: 'full', vteps: 256, groups: 10_000, membersPerGroup: 4, macs: 100_000, runs: 5 };
export const SMOKE: Scale = { name: 'smoke', vteps: 32, groups: 100, membersPerGroup: 4, macs: 1_000, runs: 2 };

export const VNI = 100;
export const VXLAN_DEV = 'vx100';
/** Nexthop ids: VTEPs from 1, groups from GROUP_BASE. */
export const GROUP_BASE = 100_000;

/** VTEP i (0-based) lives in 198.18.0.0/15, the range reserved for benchmarking (RFC 2544). */
export function vtepIp(i: number): string {
  const n = i + 1;
  return `198.18.${n >> 8}.${n & 0xff}`;
}

export function groupId(g: number): number {
  return GROUP_BASE + g;
}

/** Members of group g: consecutive VTEPs starting at a group-dependent offset, weights 1..4. */
export function groupMembers(scale: Scale, g: number): { vtep: number; weight: number }[] {
  const out: { vtep: number; weight: number }[] = [];
  for (let k = 0; k < scale.membersPerGroup; k++) out.push({ vtep: (g * 7 + k) % scale.vteps, weight: k + 1 });
  return out;
}

export function mac(i: number): string {
  const hex = (i + 1).toString(16).padStart(8, '0');
  return `02:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}`;
}

/** MAC i uses group i mod groups. */
export function macGroup(scale: Scale, i: number): number {
  return i % scale.groups;
}

/**
 * What the benchmarks beyond B1/B2 add to a scale (DESIGN.md §10 and issue
 * 10), at full size and at the smoke test's size.
 */
export interface Extras {
  /** B4: MACs on the extra group whose weights change ("used by 10,000 MACs"). */
  bigGroupMacs: number;
  /** B4: weight changes per group. */
  changes: number;
  /** B5: FDB adds + deletes per second, and for how long. */
  churnPerSecond: number;
  churnSeconds: number;
  /** B6: VtepGroups × Nodes on the apiserver (one agent's watch per node), the VtepGroup changes timed, and the idle period watched. */
  operatorGroups: number;
  operatorNodes: number;
  operatorChanges: number;
  idleSeconds: number;
  /** B7/B8: distinct flows injected per measurement. */
  flows: number;
}

export const FULL_EXTRAS: Extras = { bigGroupMacs: 10_000, changes: 200, churnPerSecond: 1000, churnSeconds: 60, operatorGroups: 1000, operatorNodes: 100, operatorChanges: 50, idleSeconds: 60, flows: 10_000 };
export const SMOKE_EXTRAS: Extras = { bigGroupMacs: 500, changes: 10, churnPerSecond: 200, churnSeconds: 3, operatorGroups: 10, operatorNodes: 3, operatorChanges: 5, idleSeconds: 3, flows: 1000 };

export function extrasOf(scale: Scale): Extras {
  return scale.name === 'smoke' ? SMOKE_EXTRAS : FULL_EXTRAS;
}

/** B4's extra group: the next nexthop id after the scale's groups, members from VTEP 0. */
export function bigGroupId(scale: Scale): number {
  return groupId(scale.groups);
}

/** MAC indices past the scale's own (B4's big group, then B5's churn). */
export function extraMac(scale: Scale, k: number): string {
  return mac(scale.macs + k);
}
