/**
 * A fabric's settings with DESIGN 3.1's defaults filled in. The CRD schema
 * defaults them too; resolving here as well means a node's spec is always
 * complete (the agent never guesses) and equal specs compare equal.
 */
import type { AddressFamily, EvpnFabric, KernelSettings, OvsSettings, VxlanSettings } from './model.js';

export interface ResolvedFabric {
  name: string;
  addressFamily: AddressFamily;
  localAddressFrom: 'InternalIP' | 'Annotation';
  vxlan: VxlanSettings;
  ovs: OvsSettings;
  kernel: KernelSettings;
}

export const FABRIC_DEFAULTS = {
  vxlan: { port: 4789, deviceTemplate: 'evpn-{vni}' },
  ovs: {
    bridge: 'br-evpn',
    tunnelPort: 'evpn-vxlan',
    tableBase: 0,
    groupIdRange: { start: 65536, size: 65536 },
    selectionMethod: 'dp_hash',
    cookie: '0x45564e0000000000',
    cookieMask: '0xffffffff00000000',
  },
  kernel: {
    manage: true,
    mirrorLearned: true,
    protocol: 236,
    nexthopIdRange: { start: 0xec000000, size: 1048576 },
  },
} as const satisfies { vxlan: VxlanSettings; ovs: OvsSettings; kernel: KernelSettings };

export function resolveFabric(fabric: EvpnFabric): ResolvedFabric {
  const spec = fabric.spec ?? {};
  const d = FABRIC_DEFAULTS;
  const ovs = spec.ovs ?? {};
  const kernel = spec.kernel ?? {};
  return {
    name: fabric.metadata.name,
    addressFamily: spec.underlay?.addressFamily ?? 'IPv4',
    localAddressFrom: spec.underlay?.localAddressFrom ?? 'InternalIP',
    vxlan: {
      port: spec.vxlan?.port ?? d.vxlan.port,
      deviceTemplate: spec.vxlan?.deviceTemplate ?? d.vxlan.deviceTemplate,
    },
    ovs: {
      bridge: ovs.bridge ?? d.ovs.bridge,
      tunnelPort: ovs.tunnelPort ?? d.ovs.tunnelPort,
      tableBase: ovs.tableBase ?? d.ovs.tableBase,
      groupIdRange: {
        start: ovs.groupIdRange?.start ?? d.ovs.groupIdRange.start,
        size: ovs.groupIdRange?.size ?? d.ovs.groupIdRange.size,
      },
      selectionMethod: ovs.selectionMethod ?? d.ovs.selectionMethod,
      cookie: ovs.cookie ?? d.ovs.cookie,
      cookieMask: ovs.cookieMask ?? d.ovs.cookieMask,
    },
    kernel: {
      manage: kernel.manage ?? d.kernel.manage,
      mirrorLearned: kernel.mirrorLearned ?? d.kernel.mirrorLearned,
      protocol: kernel.protocol ?? d.kernel.protocol,
      nexthopIdRange: {
        start: kernel.nexthopIdRange?.start ?? d.kernel.nexthopIdRange.start,
        size: kernel.nexthopIdRange?.size ?? d.kernel.nexthopIdRange.size,
      },
    },
  };
}
