import type { FabricSettings, KernelLink, KernelNexthop, NodeSpec, SpecGroup } from '../../../src/agent/model.js';

export const PROTO = 236;
export const NH_START = 0xec000000;

export function fabric(over: Partial<FabricSettings> = {}): FabricSettings {
  return {
    name: 'default',
    localVtepIP: '192.0.2.1',
    family: 4,
    vxlan: { port: 4789, mode: 'PerVni', deviceTemplate: 'evpn-{vni}', bridgeTemplate: 'evpnbr-{vni}', device: 'evpn0', bridge: 'evpnbr0' },
    ovs: {
      bridge: 'br-evpn',
      tunnelPort: 'evpn-vxlan',
      tableBase: 0,
      groupIdRange: { start: 65536, size: 65536 },
      selectionMethod: 'dp_hash',
      bucketLayout: 'slots',
      cookie: 0x45564e0000000000n,
      cookieMask: 0xffffffff00000000n,
    },
    kernel: { manage: true, mirrorLearned: true, protocol: PROTO, nexthopIdRange: { start: NH_START, size: 1048576 }, exportLocalMacs: true },
    ...over,
  };
}

export function spec(groups: SpecGroup[], over: Partial<FabricSettings> = {}, generation = 1): NodeSpec {
  return { generation, fabric: fabric(over), groups };
}

export function vxlan(ifindex: number, vni: number, name = `evpn-${vni}`): KernelLink {
  return { ifindex, name, vxlan: { vni, port: 4789, external: false } };
}

export function fdbNh(id: number, gateway: string, protocol = 4): KernelNexthop {
  return { id, protocol, family: gateway.includes(':') ? 6 : 4, fdb: true, gateway };
}

export function fdbGroup(id: number, members: Array<[number, number]>, protocol = 4): KernelNexthop {
  return { id, protocol, family: 0, fdb: true, members: members.map(([m, weight]) => ({ id: m, weight })) };
}

export function mac(i: number): string {
  const hex = i.toString(16).padStart(8, '0');
  return `02:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}`;
}
