/**
 * Flood groups (model.ts FloodGroup) in OpenFlow terms: their ovs-ofctl
 * text (identity and comparison, as openflow-text.ts does for select
 * groups), their GROUP_MOD, and the reading of an installed GROUP_DESC.
 *
 * An `all` group executes every bucket on its own copy of the packet
 * (OpenFlow 1.5 §5.10, head-end replication). Each bucket ends in its
 * own output, because Open vSwitch restores the packet's fields after a
 * bucket. The tunnel id is set by the flood flow before the group: it is
 * read by the tunnel port and ignored by the local ports.
 */
import type { Action, GroupDesc, GroupMod } from '../lib/openflow/index.js';
import type { FloodGroup, OfFlow } from './model.js';

/** A VNI's flood flow in table T+1: below every MAC flow, so only what no MAC flow claims is flooded. */
export const FLOOD_PRIORITY = 1;

/** The VNI of a flood flow (table T+1, FLOOD_PRIORITY, metadata only), if the flow is one. */
export function floodFlowVni(f: OfFlow, tableBase: number): number | undefined {
  const m = f.match;
  if (f.table !== tableBase + 1 || f.priority !== FLOOD_PRIORITY || f.foreignMatch || m.metadata === undefined || m.ethDst !== undefined || m.inPort !== undefined || m.tunId !== undefined) return undefined;
  return Number(m.metadata);
}

type BucketSpec = { kind: 'vtep'; ip: string; port: number } | { kind: 'port'; port: number };

function bucketsOf(g: FloodGroup): BucketSpec[] {
  return [...g.vteps.map((ip): BucketSpec => ({ kind: 'vtep', ip, port: g.tunnelPort })), ...g.ports.map((port): BucketSpec => ({ kind: 'port', port }))];
}

function tunDstField(ip: string): 'tun_dst' | 'tun_ipv6_dst' {
  return ip.includes(':') ? 'tun_ipv6_dst' : 'tun_dst';
}

/** As `ovs-ofctl -O OpenFlow15 dump-groups` prints it. */
export function floodGroupText(g: FloodGroup): string {
  const buckets = bucketsOf(g).map((b, i) =>
    b.kind === 'vtep' ? `bucket=bucket_id:${i},actions=set_field:${b.ip}->${tunDstField(b.ip)},output:${b.port}` : `bucket=bucket_id:${i},actions=output:${b.port}`,
  );
  return `group_id=${g.groupId},type=all,${buckets.join(',')}${g.foreign ? `,${g.foreign}` : ''}`;
}

export function floodGroupMod(command: 'add' | 'modify' | 'delete', g: FloodGroup): GroupMod {
  if (command === 'delete') return { command, type: 'all', groupId: g.groupId, buckets: [] };
  return {
    command,
    type: 'all',
    groupId: g.groupId,
    buckets: bucketsOf(g).map((b, i) => ({
      bucketId: i,
      actions:
        b.kind === 'vtep'
          ? [{ type: 'setField', field: tunDstField(b.ip), value: b.ip }, { type: 'output', port: b.port }]
          : [{ type: 'output', port: b.port }],
    })),
  };
}

/**
 * Reads an installed `all` group back. Buckets of another shape (or out of
 * order) are kept as a `foreign` mark, so the comparison with the desired
 * group differs and the sync rewrites it in place.
 */
export function fromFloodGroupDesc(d: GroupDesc, vni: number): FloodGroup {
  const g: FloodGroup = { groupId: d.groupId, vni, vteps: [], tunnelPort: 0, ports: [] };
  const foreign: string[] = [];
  if (d.type !== 'all') foreign.push(`type=${d.type}`);
  let portsStarted = false;
  d.buckets.forEach((b, i) => {
    const [first, second] = b.actions as Array<Action | undefined>;
    if (b.actions.length === 2 && first?.type === 'setField' && (first.field === 'tun_dst' || first.field === 'tun_ipv6_dst') && first.mask === undefined
      && typeof first.value === 'string' && second?.type === 'output' && !portsStarted && (g.vteps.length === 0 || g.tunnelPort === second.port)) {
      g.vteps.push(first.value);
      g.tunnelPort = second.port;
    } else if (b.actions.length === 1 && first?.type === 'output') {
      portsStarted = true;
      g.ports.push(first.port);
    } else {
      foreign.push(`bucket${i}=${b.actions.map((a) => a.type).join('+')}`);
    }
    if ((b.bucketId ?? i) !== i) foreign.push(`bucket${i}_id=${b.bucketId}`);
  });
  if (foreign.length > 0) g.foreign = foreign.join(',');
  return g;
}
