/**
 * VtepNodeState: the per-node contract (DESIGN 3, 3.1). `spec` is written
 * only by the operator (server-side apply), `status` only by the node's
 * agent. A standalone agent's --state-file holds exactly this object.
 */
import { z } from 'zod';
import {
  API_GROUP_VERSION,
  conditions,
  dateTime,
  objectMeta,
  ipText,
  objectName,
  observedGeneration,
  unicastIp,
  unicastMac,
  vni,
  vtepList,
  weight,
  MAX_MACS_PER_GROUP,
} from './common.js';
import { ipFamily } from './net.js';
import { kernelSettings, ovsSettings, vxlanSettings } from './fabric.js';
import { fieldIssues, type FieldIssue } from './issues.js';
import { listAtomic, listMap, listSet, withRules } from './rules.js';

/**
 * Groups on one node. The bound is generous on purpose: the entries carry no
 * CEL rules (see `nodeVtep`), so the apiserver's cost budget does not limit
 * it; etcd's object size limit (1.5 MiB by default) does, well before it,
 * while a standalone agent's state file is not bound by etcd at all.
 */
export const MAX_GROUPS_PER_NODE = 100000;

/**
 * A VTEP as the operator renders it into a node's spec. Unlike
 * VtepGroup.spec.vteps (where the apiserver runs the full address rules), the
 * IP is only checked for its spelling here: the apiserver's CEL cost
 * estimate for three rules per VTEP times 64 VTEPs times every group on a
 * node exceeds its budget. The agent runs the full rules per group with
 * `nodeGroupIssues` and reports a bad group as Invalid, so one bad group
 * never blocks the rest of the node.
 */
export const nodeVtep = z
  .strictObject({
    ip: ipText('Underlay IP address of the remote VTEP (canonical form).'),
    weight,
  })
  .describe('A remote VTEP and its ECMP weight.');

export const nodeGroup = z
  .strictObject({
    name: objectName('Name of the VtepGroup.'),
    generation: z
      .int()
      .min(1)
      .describe('metadata.generation of the VtepGroup this entry was rendered from; status.groups[].appliedGeneration echoes it.'),
    vni,
    vteps: listMap(z.array(nodeVtep).min(1).max(64), ['ip']).describe(
      'Remote VTEPs, 1–64, unique by IP. The agent refuses the group (state Invalid) unless every IP is a canonical unicast address of one family, the fabric\'s.',
    ),
    macs: listSet(z.array(unicastMac).max(MAX_MACS_PER_GROUP))
      .default([])
      .describe('MACs the group serves on this node.'),
  })
  .describe('A VtepGroup as it applies to this node.');

/**
 * Where the node's groups come from. `VtepGroups` (what the operator
 * writes): the agent reads the fabric's VtepGroups itself and takes those
 * whose nodeSelector picks its Node, so a group change costs one write
 * however many nodes it applies to, and no node object grows with its
 * groups. `Spec`: the groups are listed in `groups` (a standalone agent's
 * state file). An agent that predates this field refuses a spec carrying
 * it and keeps running the groups it has, so an upgrade withdraws nothing.
 */
export const groupsFrom = z
  .enum(['Spec', 'VtepGroups'])
  .default('Spec')
  .describe(
    'Where the node\'s groups come from: VtepGroups (the operator\'s choice: the agent reads the fabric\'s VtepGroups and takes those whose nodeSelector picks its Node) or Spec (listed in groups, as in a standalone agent\'s state file).',
  );

export const vtepNodeStateSpec = withRules(
  z
    .strictObject({
      fabric: objectName('Name of the EvpnFabric the settings come from.'),
      localVtepIP: unicastIp('This node\'s underlay VTEP address (source of its VXLAN traffic).'),
      vxlan: vxlanSettings.prefault({}),
      ovs: ovsSettings,
      kernel: kernelSettings,
      groupsFrom,
      groups: listMap(z.array(nodeGroup).max(MAX_GROUPS_PER_NODE), ['name'])
        .default([])
        .describe('With groupsFrom Spec: every group that applies to this node, unique by name. Empty with groupsFrom VtepGroups.'),
    })
    .describe('Desired state for one node, written by the operator only: the fabric settings resolved for the node, and where its groups come from.'),
  {
    rule: "!has(self.groupsFrom) || self.groupsFrom != 'VtepGroups' || !has(self.groups) || size(self.groups) == 0",
    message: 'groups must be empty when groupsFrom is VtepGroups (the agent reads the VtepGroups themselves)',
    fieldPath: '.groups',
    holds: (s) => s.groupsFrom !== 'VtepGroups' || s.groups.length === 0,
  },
);

export const nodeGroupState = z.enum(['Programmed', 'Pending', 'Invalid']);

const uint32 = z.int().min(0).max(0xffffffff);

export const nodeGroupStatus = z
  .strictObject({
    name: objectName('Name of the VtepGroup.'),
    vni: vni.optional(),
    appliedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('spec.groups[].generation that is live in the dataplane; the group is current when it equals the VtepGroup\'s generation.'),
    nexthopGroupId: uint32.optional().describe('Kernel fdb nexthop group id (ip nexthop show id N).'),
    ofGroupId: uint32.optional().describe('OpenFlow select group id (ovs-ofctl dump-groups group_id=N).'),
    paths: z
      .array(
        z
          .strictObject({
            vtep: ipText('VTEP IP of the path.'),
            weight: z.int().min(1).max(256).describe('Weight programmed for the path.'),
            slots: z
              .int()
              .min(0)
              .max(256)
              .optional()
              .describe(
                "dp_hash groups: hash slots of the programmed OpenFlow group's table (as Open vSwitch deals them) that go to the path; its share of flows is slots over the slots of all paths.",
              ),
          })
          .describe('One ECMP path as programmed.'),
      )
      .max(64)
      .optional()
      .describe('Paths as programmed.'),
    macs: z.int().min(0).optional().describe('Number of MACs programmed for the group.'),
    droppedPaths: z
      .array(ipText('VTEP IP of a path not programmed.'))
      .max(64)
      .optional()
      .describe('VTEPs of the group that are not programmed on this node: its own localVtepIP (a node never tunnels to itself).'),
    state: nodeGroupState.describe('Programmed, Pending or Invalid.'),
    message: z.string().max(1024).optional().describe('Why the group is Pending or Invalid; when Programmed, empty or a note (LocalOnly: every VTEP of the group is this node, so nothing is programmed).'),
  })
  .describe('How one group stands on this node.');

/**
 * How much of each group the status lists. A node's object must stay under
 * etcd's request limit (1.5 MiB by default) whatever its number of groups:
 * past a budget the agent lists Programmed groups in short form — the
 * fields the operator's roll-up reads — and keeps the detail for the groups
 * a human must look at (Pending, Invalid). See src/agent/status-size.ts.
 */
export const groupDetail = z
  .enum(['Full', 'Compact'])
  .describe(
    'Full: every group with its ids, paths and MAC count. Compact: too many groups for that to fit in the object (etcd refuses objects over 1.5 MiB): ' +
      'Programmed groups are listed as name, state and appliedGeneration only; Pending and Invalid groups keep their detail. ' +
      'The kernel and Open vSwitch of the node show the rest (evpn-ecmp inspect kernel|ovs).',
  );

export const vtepNodeStateStatus = z
  .strictObject({
    observedGeneration: observedGeneration.optional(),
    conditions: conditions
      .optional()
      .describe(
        'Ready, KernelSynced, OvsConnected, OvsSynced, DataplaneDrift, Degraded (groups Invalid or held at their last good version, id ranges exhausted). ' +
          'All Unknown with reason AgentNotReporting when the agent stopped renewing its heartbeat Lease.',
      ),
    summary: z
      .strictObject({
        groups: z.int().min(0).describe('Groups that apply to this node (listed in spec, or the VtepGroups the agent reads).'),
        paths: z.int().min(0).describe('Paths (group members) programmed.'),
        macs: z.int().min(0).describe('MACs programmed.'),
        invalid: z.int().min(0).describe('Groups and mirrored entries refused as invalid.'),
      })
      .optional()
      .describe('Counts for the printer columns.'),
    groups: listAtomic(z.array(nodeGroupStatus).max(MAX_GROUPS_PER_NODE))
      .optional()
      .describe('Per-group state, one entry per group, by name; in short form for Programmed groups when groupDetail is Compact.'),
    groupDetail: groupDetail.optional(),
    learned: z
      .strictObject({
        ecmp: z.int().min(0).describe('Mirrored ECMP FDB entries (nhid) installed by other software.'),
        singlePath: z.int().min(0).describe('Mirrored single-destination FDB entries.'),
        invalid: z
          .record(z.string(), z.int().min(0))
          .optional()
          .describe('Entries skipped, counted by reason (e.g. UnknownNexthop).'),
      })
      .optional()
      .describe('Kernel FDB entries mirrored into Open vSwitch that the agent did not write.'),
    flood: listAtomic(
      z
        .array(
          z
            .strictObject({
              vni,
              vteps: z.int().min(0).describe('Remote VTEPs in the flood list (the kernel\'s all-zeros-MAC FDB entries of the VNI).'),
              ofGroupId: uint32.optional().describe('OpenFlow `all` group that replicates broadcast, unknown unicast and multicast (ovs-ofctl dump-groups group_id=N).'),
              message: z.string().max(1024).optional().describe('Why the VNI has no flood group (e.g. GroupIdRangeExhausted); absent when it has one.'),
            })
            .describe('Flooding of one VNI on this node.'),
        )
        .max(MAX_GROUPS_PER_NODE),
    )
      .optional()
      .describe('Per VNI: flood list size and flood group (BUM traffic, head-end replication).'),
    local: listAtomic(
      z
        .array(
          z
            .strictObject({
              vni,
              ports: z.int().min(0).describe('Local workload ports of the VNI (Open vSwitch interfaces with external_ids:evpn-vni).'),
              macs: z.int().min(0).describe('Local MACs of the VNI switched on this node (external_ids:attached-mac, or learned).'),
              exported: z.int().min(0).optional().describe('Local MACs written to the kernel as static FDB entries for an EVPN control plane to advertise.'),
            })
            .describe('Local workloads of one VNI on this node.'),
        )
        .max(MAX_GROUPS_PER_NODE),
    )
      .optional()
      .describe('Per VNI: local ports and MACs (switched locally, never sent into the fabric).'),
    lastSyncTime: dateTime('When the dataplane was last found in sync (RFC 3339).').optional(),
    lastReportTime: dateTime(
      'When the agent last wrote this status (RFC 3339). It writes only when something changed, so this is the age of what the status says; ' +
        'that the agent is alive is its heartbeat Lease\'s business: when it stops renewing it, the operator sets every condition Unknown (reason AgentNotReporting).',
    ).optional(),
  })
  .describe(
    'Observed state, written by this node\'s agent; when the agent stops renewing its heartbeat Lease, the operator sets its conditions Unknown.',
  );

export const vtepNodeState = z
  .strictObject({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal('VtepNodeState'),
    metadata: objectMeta,
    spec: vtepNodeStateSpec,
    status: vtepNodeStateStatus.optional(),
  })
  .describe('VtepNodeState: what one node must program, and how it stands.');

/** Built once: building a zod schema costs ~0.25 ms, 2.5 s for the groups of a 10,000-group node. */
const nodeVtepRules = vtepList('');

/**
 * The checks the apiserver cannot afford per group on a node (see
 * `nodeVtep`): every VTEP IP a canonical unicast address, all of one family,
 * and — when given — that of the local VTEP. Empty when the group is good.
 * Paths are relative to the group (e.g. `vteps[1].ip`).
 */
export function nodeGroupIssues(group: Pick<NodeGroup, 'vteps'>, localVtepIP?: string): FieldIssue[] {
  const r = nodeVtepRules.safeParse(group.vteps);
  const issues = r.success
    ? []
    : fieldIssues(r.error).map((i) => ({ path: i.path === '' || i.path.startsWith('[') ? `vteps${i.path}` : `vteps.${i.path}`, message: i.message }));
  if (issues.length === 0 && localVtepIP !== undefined) {
    const local = ipFamily(localVtepIP);
    const family = group.vteps[0] && ipFamily(group.vteps[0].ip);
    if (local && family && local !== family) {
      issues.push({ path: 'vteps', message: `VTEPs are ${family} but the local VTEP ${localVtepIP} is ${local}` });
    }
  }
  return issues;
}

export type NodeGroup = z.output<typeof nodeGroup>;
export type NodeGroupState = z.output<typeof nodeGroupState>;
export type NodeGroupStatus = z.output<typeof nodeGroupStatus>;
export type VtepNodeStateSpec = z.output<typeof vtepNodeStateSpec>;
export type VtepNodeStateStatus = z.output<typeof vtepNodeStateStatus>;
export type VtepNodeState = z.output<typeof vtepNodeState>;
export type GroupDetail = z.output<typeof groupDetail>;
