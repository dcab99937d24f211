/**
 * A VtepNodeState as the operator writes it for one node of the tests'
 * fabric: its settings, and either the node's groups or `groupsFrom:
 * VtepGroups` (the agent reads the fabric's VtepGroups itself).
 */
export function nodeStateJson(name: string, groups: { groups: unknown[] } | { groupsFrom: 'VtepGroups' }): string {
  return JSON.stringify({
    apiVersion: 'evpn.ecmp.dev/v1alpha1',
    kind: 'VtepNodeState',
    metadata: { name },
    spec: {
      fabric: 'default',
      localVtepIP: '192.0.2.1',
      vxlan: { port: 4789, deviceTemplate: 'evpn-{vni}' },
      ovs: { bridge: 'br-evpn', tunnelPort: 'evpn-vxlan' },
      kernel: {},
      ...groups,
    },
  });
}
