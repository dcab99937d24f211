import type { BundleMessage, GroupMod, FlowMod } from '../../src/lib/openflow/index.js';
import { layoutSlots } from '../../src/agent/hash-slots.js';
import { groupMembers, mac, macGroup, vtepIp, VNI, type Scale } from './scale.js';

/**
 * The OVS side of the benchmark scale, as the agent lays it out (DESIGN.md §4
 * and src/agent/engine/nodes/of-desired.ts), so that B2's client and its
 * ovs-ofctl peer, and B3's peers, install what the agent itself writes for
 * the same kernel groups.
 */
export const COOKIE = 0x45564e0000000000n;
export const GROUP_ID_BASE = 65536;
export const FDB_TABLE = 1;

/** The fabric's `ovs.bucketLayout` (dp_hash groups): hash slots (the default) or one weighted bucket per VTEP. */
export type BucketLayout = 'slots' | 'weights';

export interface BenchBucket {
  vtep: string;
  weight: number;
}

/**
 * The buckets the agent writes for these paths (in its order: by VTEP
 * address, as evpnFdb's resolveGroup sorts them): with `slots`, one equal
 * bucket per hash slot dealt by layoutSlots, re-dealt from `previous` (the
 * group's last table) on a change; with `weights`, or for a single VTEP
 * (which layoutSlots leaves to one bucket), one bucket per VTEP with its
 * weight.
 */
export function layoutBuckets(paths: readonly BenchBucket[], layout: BucketLayout, previous?: readonly string[]): BenchBucket[] {
  const slots = layout === 'slots' ? layoutSlots(paths, previous) : undefined;
  return slots ? slots.map((vtep) => ({ vtep, weight: 1 })) : [...paths];
}

/**
 * The buckets the agent writes for group g of the scale. With `slots`, its
 * weights 1:2:3:4 get as many slots as hash-slots' share tolerance needs
 * (32 at 1.5 points: 16 would leave two VTEPs 2.5 points off). vtepIp is
 * monotonic in the VTEP index, so sorting on the index gives the agent's
 * path order, hence the same table.
 */
export function groupBuckets(scale: Scale, g: number, layout: BucketLayout = 'slots'): BenchBucket[] {
  const paths = groupMembers(scale, g)
    .sort((a, b) => a.vtep - b.vtep)
    .map((m) => ({ vtep: vtepIp(m.vtep), weight: m.weight }));
  return layoutBuckets(paths, layout);
}

/** Buckets over all the scale's groups (what B2 installs and B3's agent writes). */
export function bucketTotal(scale: Scale, layout: BucketLayout = 'slots'): number {
  let n = 0;
  for (let g = 0; g < scale.groups; g++) n += groupBuckets(scale, g, layout).length;
  return n;
}

export function groupMod(scale: Scale, g: number, tunnelPort: number, layout: BucketLayout = 'slots', command: GroupMod['command'] = 'add'): GroupMod {
  return {
    command,
    type: 'select',
    groupId: GROUP_ID_BASE + g,
    selectionMethod: { name: 'dp_hash' },
    buckets: groupBuckets(scale, g, layout).map((b, k) => ({
      bucketId: k,
      weight: b.weight,
      actions: [
        { type: 'setField', field: 'tun_dst', value: b.vtep },
        { type: 'output', port: tunnelPort },
      ],
    })),
  };
}

export function flowMod(scale: Scale, i: number): FlowMod {
  return {
    command: 'add',
    tableId: FDB_TABLE,
    priority: 100,
    cookie: COOKIE,
    match: { metadata: BigInt(VNI), ethDst: mac(i) },
    instructions: [{
      type: 'applyActions',
      actions: [
        { type: 'setField', field: 'tun_id', value: BigInt(VNI) },
        { type: 'group', groupId: GROUP_ID_BASE + macGroup(scale, i) },
      ],
    }],
  };
}

/** Groups first, then the flows that use them (one ordered bundle). */
export function bundleMessages(scale: Scale, tunnelPort: number, layout: BucketLayout = 'slots'): BundleMessage[] {
  const out: BundleMessage[] = [];
  for (let g = 0; g < scale.groups; g++) out.push({ type: 'groupMod', groupMod: groupMod(scale, g, tunnelPort, layout) });
  for (let i = 0; i < scale.macs; i++) out.push({ type: 'flowMod', flowMod: flowMod(scale, i) });
  return out;
}

/** The same content in ovs-ofctl's syntax, for `--bundle add-groups` / `add-flows`. */
export function ofctlText(scale: Scale, tunnelPort: number, layout: BucketLayout = 'slots'): { groups: string; flows: string } {
  const groups: string[] = [];
  for (let g = 0; g < scale.groups; g++) {
    const buckets = groupBuckets(scale, g, layout)
      .map((b, k) => `bucket=bucket_id:${k},weight:${b.weight},actions=set_field:${b.vtep}->tun_dst,output:${tunnelPort}`)
      .join(',');
    groups.push(`group_id=${GROUP_ID_BASE + g},type=select,selection_method=dp_hash,${buckets}`);
  }
  const flows: string[] = [];
  for (let i = 0; i < scale.macs; i++) {
    flows.push(`table=${FDB_TABLE},priority=100,cookie=0x${COOKIE.toString(16)},metadata=0x${VNI.toString(16)},dl_dst=${mac(i)},`
      + `actions=set_field:0x${VNI.toString(16)}->tun_id,group:${GROUP_ID_BASE + macGroup(scale, i)}`);
  }
  return { groups: groups.join('\n') + '\n', flows: flows.join('\n') + '\n' };
}
