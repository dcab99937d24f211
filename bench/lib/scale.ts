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
