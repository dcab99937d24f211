/**
 * The edge between the API (src/api: VtepNodeState and VtepGroup as
 * validated by zod) and the engine's NodeSpec: cookies become bigints, VTEP
 * `ip` becomes a path's `vtep`, MACs are lower-cased, and each group gets
 * the per-node checks the apiserver cannot afford (nodeGroupIssues) — a bad
 * group is marked invalid, never blocking the others.
 */
import { nodeGroupIssues, type NodeGroup, type VtepNodeState } from '../api/index.js';
import { ipFamily, type NodeSettings, type NodeSpec, type SpecGroup } from './model.js';

/** The whole spec: settings and the groups the object lists (groupsFrom Spec). */
export function nodeSpecFrom(state: VtepNodeState): NodeSpec {
  return { ...nodeSettingsFrom(state), groups: state.spec.groups.map((g) => specGroupFrom(g, state.spec.localVtepIP)) };
}

/** The settings alone (groupsFrom VtepGroups: the groups are read from the VtepGroups). */
export function nodeSettingsFrom(state: VtepNodeState): NodeSettings {
  const s = state.spec;
  return {
    generation: state.metadata.generation ?? 0,
    fabric: {
      name: s.fabric,
      localVtepIP: s.localVtepIP,
      family: ipFamily(s.localVtepIP),
      vxlan: { port: s.vxlan.port, mode: s.vxlan.mode, deviceTemplate: s.vxlan.deviceTemplate, bridgeTemplate: s.vxlan.bridgeTemplate, device: s.vxlan.device, bridge: s.vxlan.bridge },
      ovs: {
        bridge: s.ovs.bridge,
        tunnelPort: s.ovs.tunnelPort,
        tableBase: s.ovs.tableBase,
        groupIdRange: { start: s.ovs.groupIdRange.start, size: s.ovs.groupIdRange.size },
        selectionMethod: s.ovs.selectionMethod,
        bucketLayout: s.ovs.bucketLayout,
        cookie: BigInt(s.ovs.cookie),
        cookieMask: BigInt(s.ovs.cookieMask),
      },
      kernel: {
        manage: s.kernel.manage,
        mirrorLearned: s.kernel.mirrorLearned,
        protocol: s.kernel.protocol,
        nexthopIdRange: { start: s.kernel.nexthopIdRange.start, size: s.kernel.nexthopIdRange.size },
        exportLocalMacs: s.kernel.exportLocalMacs,
      },
    },
  };
}

/** A group as the node carries it (src/api membership's nodeGroupOf, or a spec's entry), with the per-node checks. */
export function specGroupFrom(g: NodeGroup, localVtepIP: string): SpecGroup {
  const issues = nodeGroupIssues(g, localVtepIP);
  return {
    name: g.name,
    generation: g.generation,
    vni: g.vni,
    vteps: g.vteps.map((v) => ({ vtep: v.ip, weight: v.weight })),
    macs: g.macs.map((m) => m.toLowerCase()),
    ...(issues.length > 0 ? { invalid: issues.map((i) => `${i.path}: ${i.message}`).join('; ') } : {}),
  };
}
