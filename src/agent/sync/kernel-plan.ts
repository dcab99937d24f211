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
import { NTF_EXT_LEARNED, NTF_MASTER, NTF_SELF, NUD_NOARP, NUD_PERMANENT, NUD_STATIC, sameMembers, ZERO_MAC, type FabricSettings, type KernelEvent, type KernelFdbEntry, type KernelNexthop, type NexthopMember } from '../model.js';
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
  /** Conflicts found among the objects looked at, by object key (`nh:<id>`, `fdb:<fdbKey>`). */
  conflicts: Map<string, KernelConflict>;
  /** The object keys looked at (with a scope, only those; a conflict not among them is still current). */
  looked: ReadonlySet<string> | 'all';
}

/** Which objects to compare: ids and FDB keys that changed on either side since the last plan. */
export interface KernelScope {
  nexthops: ReadonlySet<number>;
  fdb: ReadonlySet<string>;
}

type Desired = Pick<KernelDesiredData, 'nexthops' | 'groups' | 'fdb'> & Partial<Pick<KernelDesiredData, 'flood' | 'floodRetired'>>;
type Observed = { nexthops: ReadonlyMap<number, KernelNexthop>; fdb: ReadonlyMap<string, KernelFdbEntry> };

/**
 * Plans the writes. With a scope (what changed since the last plan, on
 * either side) only those objects are compared — a weight change on one of
 * 10,000 groups looks at that group — without one, everything is (the first
 * sync, after a re-dump or a refused write).
 */
export function planKernelSync(desired: Desired, observed: Observed, fabric: FabricSettings, exported?: LocalExportData, scope?: KernelScope): KernelPlan {
  const conflicts = new Map<string, KernelConflict>();
  const nexthopAdds: KernelOp[] = [];
  const groupAdds: KernelOp[] = [];
  const fdbSets: KernelOp[] = [];
  const fdbDels: KernelOp[] = [];
  const groupDels: KernelOp[] = [];
  const nexthopDels: KernelOp[] = [];
  const floods: KernelOp[] = [];
  const owned = (nh: KernelNexthop | undefined): boolean => isOwnedNexthop(nh, fabric);
  const range = fabric.kernel.nexthopIdRange;

  const nexthop = (id: number): void => {
    const have = observed.nexthops.get(id);
    const want = desired.nexthops.get(id);
    const wantGroup = desired.groups.get(id);
    if (want || wantGroup) {
      if (have && !owned(have)) {
        conflicts.set(`nh:${id}`, { object: `nexthop${wantGroup ? ' group' : ''} ${id}`, reason: `held by protocol ${have.protocol}` });
      } else if (want && (!have || have.gateway !== want.gateway || !have.fdb || have.members)) {
        nexthopAdds.push({ op: 'setNexthop', replace: have !== undefined, id, gateway: want.gateway });
      } else if (wantGroup && (!have || !have.fdb || !sameMembers(have.members, wantGroup.members))) {
        groupAdds.push({ op: 'setGroup', replace: have !== undefined, id, members: wantGroup.members });
      }
      return;
    }
    // Ours and no longer wanted. Groups before members: a nexthop still in a group cannot be deleted cleanly.
    if (have && inRange(id, range) && owned(have)) (have.members ? groupDels : nexthopDels).push({ op: 'delNexthop', id, group: have.members !== undefined });
  };

  const fdbEntry = (key: string): void => {
    const have = observed.fdb.get(key);
    const want = desired.fdb.get(key);
    if (want) {
      if (have && !isOwnedFdbEntry(have, observed.nexthops, fabric)) {
        const who = (have.flags & NTF_EXT_LEARNED) !== 0 ? 'an extern_learn entry' : 'an entry';
        conflicts.set(`fdb:${key}`, { object: `fdb ${want.mac} on ifindex ${want.ifindex}`, reason: `held by ${who} this agent did not write` });
      } else if (!have || have.nhid !== want.nhid) {
        fdbSets.push({ op: 'setFdb', replace: have !== undefined, ifindex: want.ifindex, mac: want.mac, nhid: want.nhid, ...vniOf(want.srcVni) });
      }
    } else if (have && isOwnedFdbEntry(have, observed.nexthops, fabric)) {
      fdbDels.push({ op: 'delFdb', ifindex: have.ifindex, mac: have.mac, ...vniOf(have.vni) });
    }
    // A local MAC exported on one of our access ports (the bridge's own entries there are not static).
    const exportedMac = exported?.entries.get(key);
    if (exportedMac && !have) fdbSets.push({ op: 'setLocalMac', ifindex: exportedMac.ifindex, mac: exportedMac.mac, vlan: exportedMac.vlan });
    else if (!exportedMac && have && exported?.complete && exported.ports.has(have.ifindex) && isExportedMac(have)) {
      fdbDels.push({ op: 'delLocalMac', ifindex: have.ifindex, mac: have.mac, vlan: have.vlan });
    }
    // Flood entries are independent of the nexthop objects and go last.
    const flood = desired.flood?.get(key);
    if (flood && !have) floods.push({ op: 'appendFlood', ifindex: flood.ifindex, dst: flood.dst, ...vniOf(flood.srcVni) });
    const retired = desired.floodRetired?.get(key);
    if (retired && have) floods.push({ op: 'delFlood', ifindex: retired.ifindex, dst: retired.dst, ...vniOf(retired.srcVni) });
  };

  if (scope) {
    for (const id of [...scope.nexthops].sort((a, b) => a - b)) nexthop(id);
    for (const key of scope.fdb) fdbEntry(key);
  } else {
    const ids = new Set([...desired.nexthops.keys(), ...desired.groups.keys()]);
    for (const id of observed.nexthops.keys()) if (inRange(id, range)) ids.add(id);
    for (const id of [...ids].sort((a, b) => a - b)) nexthop(id);
    const keys = new Set([...desired.fdb.keys(), ...observed.fdb.keys(), ...(exported?.entries.keys() ?? []), ...(desired.flood?.keys() ?? []), ...(desired.floodRetired?.keys() ?? [])]);
    for (const key of keys) fdbEntry(key);
  }
  return {
    ops: [...nexthopAdds, ...groupAdds, ...fdbSets, ...fdbDels, ...groupDels, ...nexthopDels, ...floods],
    conflicts,
    looked: scope ? new Set([...[...scope.nexthops].map((id) => `nh:${id}`), ...[...scope.fdb].map((key) => `fdb:${key}`)]) : 'all',
  };
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
      // A bridge entry, flagged as the edge flags those the kernel reports:
      // a lookup of it (kernel-reconcile) then asks the bridge, not the port
      // (a veth has no fdb get: EOPNOTSUPP).
      return { kind: 'fdb', op: 'new', entry: { ifindex: op.ifindex, mac: op.mac, vlan: op.vlan, state: NUD_NOARP, flags: NTF_MASTER } };
    case 'delLocalMac':
      return { kind: 'fdb', op: 'del', entry: { ifindex: op.ifindex, mac: op.mac, vlan: op.vlan, state: 0, flags: NTF_MASTER } };
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
