import type { EvpnFabric, Node, VtepGroup, VtepNodeState } from '../../../src/operator/model.js';

export function fabric(name: string, spec: EvpnFabric['spec'] = {}, extra: Partial<EvpnFabric['metadata']> = {}): EvpnFabric {
  return { metadata: { name, generation: 1, uid: `uid-ef-${name}`, creationTimestamp: '2026-11-21T00:00:00Z', ...extra }, spec };
}

export function group(name: string, spec: Partial<VtepGroup['spec']> = {}, extra: Partial<VtepGroup['metadata']> = {}): VtepGroup {
  return {
    metadata: { name, generation: 1, uid: `uid-vg-${name}`, creationTimestamp: '2026-11-21T01:00:00Z', ...extra },
    spec: { fabric: 'default', vni: 100, vteps: [{ ip: '198.51.100.2', weight: 3 }, { ip: '198.51.100.3' }], macs: ['02:00:00:00:00:aa'], ...spec },
  };
}

export function node(name: string, ip: string | undefined, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Node {
  return {
    metadata: { name, uid: `uid-node-${name}`, labels, annotations },
    status: { addresses: [{ type: 'Hostname', address: name }, ...(ip ? [{ type: 'InternalIP', address: ip }] : [])] },
  };
}

/** A VtepNodeState as the agent leaves it after programming `groups` at their generations. */
export function nodeState(name: string, spec: VtepNodeState['spec'], groups: Array<[string, number, 'Programmed' | 'Pending' | 'Invalid']>, generation = 1): VtepNodeState {
  return {
    metadata: { name, generation },
    spec,
    status: {
      observedGeneration: generation,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', message: '', lastTransitionTime: '2026-11-21T02:00:00Z' }],
      groups: groups.map(([g, appliedGeneration, state]) => ({ name: g, appliedGeneration, state })),
    },
  };
}
