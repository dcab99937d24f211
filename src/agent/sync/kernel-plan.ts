/**
 * The kernel sync plan: the difference between kernelDesired and what the
 * kernel holds, as an ordered list of writes.
 *
 * Only objects the agent owns are ever written (ownership.ts): an id in our
 * range held by another protocol, or a MAC held by an FDB entry we did not
 * write, is left alone and reported as a conflict.
 *
 * Order: nexthops, then groups (a group's members must exist), then FDB
 * entries (their group must exist); deletions the other way round — FDB
 * entries, groups, then nexthops no group uses any more. Deleting our
 * entries before their group also avoids relying on the kernel's silent
 * removal of a deleted group's entries.
 *
 * Flood entries (all-zeros MAC, one per remote VTEP of a VNI) are
 * appended where missing and deleted only when retired (see
 * kernelDesired for why that is how we recognise our own). They are
 * independent of the nexthop objects and go last.
 */
import type { KernelDesiredData } from '../engine/nodes/kernel-desired.js';
import type { LocalExportData } from '../engine/nodes/local-export.js';
import { NTF_EXT_LEARNED, NTF_SELF, NUD_NOARP, NUD_PERMANENT, NUD_STATIC, sameMembers, ZERO_MAC, type FabricSettings, type KernelEvent, type KernelFdbEntry, type KernelNexthop, type NexthopMember } from '../model.js';
import { inRange, isOwnedFdbEntry, isOwnedNexthop } from '../ownership.js';

export type KernelOp =
  /** `bridge fdb add MAC dev PORT master static [vlan V]`: a local MAC exported on an access port. */
  | { op: 'setLocalMac'; ifindex: number; mac: string; vlan: number }
  | { op: 'delLocalMac'; ifindex: number; mac: string; vlan: number }
  | { op: 'setNexthop'; replace: boolean; id: number; gateway: string }
  | { op: 'setGroup'; replace: boolean; id: number; members: NexthopMember[] }
  | { op: 'setFdb'; replace: boolean; ifindex: number; mac: string; nhid: number; srcVni?: number }
  | { op: 'delFdb'; ifindex: number; mac: string; srcVni?: number }
  | { op: 'delNexthop'; id: number; group: boolean }
  /** `bridge fdb append 00:00:00:00:00:00 dev D dst IP self [src_vni V]` */
  | { op: 'appendFlood'; ifindex: number; dst: string; srcVni?: number }
  /** `bridge fdb del 00:00:00:00:00:00 dev D dst IP self [src_vni V]`: that destination only. */
  | { op: 'delFlood'; ifindex: number; dst: string; srcVni?: number };

export interface KernelConflict {
  object: string;
  reason: string;
}

export interface KernelPlan {
  ops: KernelOp[];
  conflicts: KernelConflict[];
}

export function planKernelSync(
  desired: Pick<KernelDesiredData, 'nexthops' | 'groups' | 'fdb'> & Partial<Pick<KernelDesiredData, 'flood' | 'floodRetired'>>,
  observed: { nexthops: ReadonlyMap<number, KernelNexthop>; fdb: ReadonlyMap<string, KernelFdbEntry> },
  fabric: FabricSettings,
  exported?: LocalExportData,
): KernelPlan {
  const ops: KernelOp[] = [];
  const conflicts: KernelConflict[] = [];
  const owned = (nh: KernelNexthop | undefined): boolean => isOwnedNexthop(nh, fabric);

  for (const want of desired.nexthops.values()) {
    const have = observed.nexthops.get(want.id);
    if (have && !owned(have)) {
      conflicts.push({ object: `nexthop ${want.id}`, reason: `held by protocol ${have.protocol}` });
    } else if (!have || have.gateway !== want.gateway || !have.fdb || have.members) {
      ops.push({ op: 'setNexthop', replace: have !== undefined, id: want.id, gateway: want.gateway });
    }
  }
  for (const want of desired.groups.values()) {
    const have = observed.nexthops.get(want.id);
    if (have && !owned(have)) {
      conflicts.push({ object: `nexthop group ${want.id}`, reason: `held by protocol ${have.protocol}` });
    } else if (!have || !have.fdb || !sameMembers(have.members, want.members)) {
      ops.push({ op: 'setGroup', replace: have !== undefined, id: want.id, members: want.members });
    }
  }
  for (const [key, want] of desired.fdb) {
    const have = observed.fdb.get(key);
    if (have && !isOwnedFdbEntry(have, observed.nexthops, fabric)) {
      const who = (have.flags & NTF_EXT_LEARNED) !== 0 ? 'an extern_learn entry' : 'an entry';
      conflicts.push({ object: `fdb ${want.mac} on ifindex ${want.ifindex}`, reason: `held by ${who} this agent did not write` });
    } else if (!have || have.nhid !== want.nhid) {
      ops.push({ op: 'setFdb', replace: have !== undefined, ifindex: want.ifindex, mac: want.mac, nhid: want.nhid, ...vniOf(want.srcVni) });
    }
  }

  for (const [key, have] of observed.fdb) {
    if (!desired.fdb.has(key) && isOwnedFdbEntry(have, observed.nexthops, fabric)) {
      ops.push({ op: 'delFdb', ifindex: have.ifindex, mac: have.mac, ...vniOf(have.vni) });
    }
    // A static entry on one of our access ports is an exported local MAC (the bridge's own entries there are not static).
    if (exported?.complete && exported.ports.has(have.ifindex) && !exported.entries.has(key) && isExportedMac(have)) {
      ops.push({ op: 'delLocalMac', ifindex: have.ifindex, mac: have.mac, vlan: have.vlan });
    }
  }
  for (const [key, want] of exported?.entries ?? []) {
    if (!observed.fdb.has(key)) ops.push({ op: 'setLocalMac', ifindex: want.ifindex, mac: want.mac, vlan: want.vlan });
  }
  const range = fabric.kernel.nexthopIdRange;
  const stale = [...observed.nexthops.values()].filter((nh) => inRange(nh.id, range) && owned(nh) && !desired.nexthops.has(nh.id) && !desired.groups.has(nh.id));
  // Groups first: a nexthop still in some group cannot be deleted cleanly.
  for (const nh of stale.filter((n) => n.members)) ops.push({ op: 'delNexthop', id: nh.id, group: true });
  for (const nh of stale.filter((n) => !n.members)) ops.push({ op: 'delNexthop', id: nh.id, group: false });

  for (const [key, want] of desired.flood ?? []) {
    if (!observed.fdb.has(key)) ops.push({ op: 'appendFlood', ifindex: want.ifindex, dst: want.dst, ...vniOf(want.srcVni) });
  }
  for (const [key, old] of desired.floodRetired ?? []) {
    if (observed.fdb.has(key)) ops.push({ op: 'delFlood', ifindex: old.ifindex, dst: old.dst, ...vniOf(old.srcVni) });
  }
  return { ops, conflicts };
}

/** How the bridge reports `bridge fdb add MAC dev PORT master static`: NOARP alone, no NTF_SELF. */
function isExportedMac(e: KernelFdbEntry): boolean {
  return e.state === NUD_NOARP && (e.flags & NTF_SELF) === 0;
}

function vniOf(srcVni: number | undefined): { srcVni?: number } {
  return srcVni === undefined ? {} : { srcVni };
}

/** The VNI part of an observed entry, as the kernel reports it. */
function withVni<T extends object>(entry: T, srcVni: number | undefined): T & { vni?: number } {
  return srcVni === undefined ? entry : { ...entry, vni: srcVni };
}

/** The kernel object a successful op leaves behind, as an observed event (fed back to the input nodes). */
export function observedAfter(op: KernelOp, fabric: FabricSettings): KernelEvent {
  const protocol = fabric.kernel.protocol;
  switch (op.op) {
    case 'setNexthop':
      return { kind: 'nexthop', op: 'new', nexthop: { id: op.id, protocol, family: op.gateway.includes(':') ? 6 : 4, fdb: true, gateway: op.gateway } };
    case 'setGroup':
      return { kind: 'nexthop', op: 'new', nexthop: { id: op.id, protocol, family: 0, fdb: true, members: op.members } };
    case 'setFdb':
      return { kind: 'fdb', op: 'new', entry: withVni({ ifindex: op.ifindex, mac: op.mac, vlan: 0, nhid: op.nhid, state: NUD_STATIC, flags: NTF_SELF }, op.srcVni) };
    case 'delFdb':
      return { kind: 'fdb', op: 'del', entry: withVni({ ifindex: op.ifindex, mac: op.mac, vlan: 0, state: 0, flags: 0 }, op.srcVni) };
    case 'delNexthop':
      return { kind: 'nexthop', op: 'del', nexthop: { id: op.id, protocol, family: 0, fdb: true } };
    case 'appendFlood':
      // iproute2's default state for `bridge fdb append`: permanent (NOARP|PERMANENT).
      return { kind: 'fdb', op: 'new', entry: withVni({ ifindex: op.ifindex, mac: ZERO_MAC, vlan: 0, dst: op.dst, state: NUD_NOARP | NUD_PERMANENT, flags: NTF_SELF }, op.srcVni) };
    case 'delFlood':
      return { kind: 'fdb', op: 'del', entry: withVni({ ifindex: op.ifindex, mac: ZERO_MAC, vlan: 0, dst: op.dst, state: 0, flags: 0 }, op.srcVni) };
    case 'setLocalMac':
      return { kind: 'fdb', op: 'new', entry: { ifindex: op.ifindex, mac: op.mac, vlan: op.vlan, state: NUD_NOARP, flags: 0 } };
    case 'delLocalMac':
      return { kind: 'fdb', op: 'del', entry: { ifindex: op.ifindex, mac: op.mac, vlan: op.vlan, state: 0, flags: 0 } };
  }
}

export function describeKernelOp(op: KernelOp): string {
  switch (op.op) {
    case 'setNexthop':
      return `nexthop ${op.replace ? 'replace' : 'add'} id ${op.id} via ${op.gateway} fdb`;
    case 'setGroup':
      return `nexthop ${op.replace ? 'replace' : 'add'} id ${op.id} group ${op.members.map((m) => `${m.id},${m.weight}`).join('/')} fdb`;
    case 'setFdb':
      return `fdb ${op.replace ? 'replace' : 'add'} ${op.mac} ifindex ${op.ifindex} nhid ${op.nhid}${srcVniText(op.srcVni)}`;
    case 'delFdb':
      return `fdb del ${op.mac} ifindex ${op.ifindex}${srcVniText(op.srcVni)}`;
    case 'delNexthop':
      return `nexthop del id ${op.id}`;
    case 'appendFlood':
      return `fdb append ${ZERO_MAC} ifindex ${op.ifindex} dst ${op.dst}${srcVniText(op.srcVni)}`;
    case 'delFlood':
      return `fdb del ${ZERO_MAC} ifindex ${op.ifindex} dst ${op.dst}${srcVniText(op.srcVni)}`;
    case 'setLocalMac':
      return `fdb add ${op.mac} ifindex ${op.ifindex} master static${op.vlan ? ` vlan ${op.vlan}` : ''}`;
    case 'delLocalMac':
      return `fdb del ${op.mac} ifindex ${op.ifindex} master${op.vlan ? ` vlan ${op.vlan}` : ''}`;
  }
}

function srcVniText(srcVni: number | undefined): string {
  return srcVni === undefined ? '' : ` src_vni ${srcVni}`;
}
