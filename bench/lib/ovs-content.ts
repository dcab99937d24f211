import type { BundleMessage, GroupMod, FlowMod } from '../../src/lib/openflow/index.js';
import { groupMembers, mac, macGroup, vtepIp, VNI, type Scale } from './scale.js';

/** The OVS side of the benchmark scale, as the agent lays it out (DESIGN.md §4). */
export const COOKIE = 0x45564e0000000000n;
export const GROUP_ID_BASE = 65536;
export const FDB_TABLE = 1;

export function groupMod(scale: Scale, g: number, tunnelPort: number, command: GroupMod['command'] = 'add'): GroupMod {
  return {
    command,
    type: 'select',
    groupId: GROUP_ID_BASE + g,
    selectionMethod: { name: 'dp_hash' },
    buckets: groupMembers(scale, g).map((m, k) => ({
      bucketId: k,
      weight: m.weight,
      actions: [
        { type: 'setField', field: 'tun_dst', value: vtepIp(m.vtep) },
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
export function bundleMessages(scale: Scale, tunnelPort: number): BundleMessage[] {
  const out: BundleMessage[] = [];
  for (let g = 0; g < scale.groups; g++) out.push({ type: 'groupMod', groupMod: groupMod(scale, g, tunnelPort) });
  for (let i = 0; i < scale.macs; i++) out.push({ type: 'flowMod', flowMod: flowMod(scale, i) });
  return out;
}

/** The same content in ovs-ofctl's syntax, for `--bundle add-groups` / `add-flows`. */
export function ofctlText(scale: Scale, tunnelPort: number): { groups: string; flows: string } {
  const groups: string[] = [];
  for (let g = 0; g < scale.groups; g++) {
    const buckets = groupMembers(scale, g)
      .map((m, k) => `bucket=bucket_id:${k},weight:${m.weight},actions=set_field:${vtepIp(m.vtep)}->tun_dst,output:${tunnelPort}`)
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
