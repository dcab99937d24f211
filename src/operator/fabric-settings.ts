/**
 * A fabric's settings with DESIGN 3.1's defaults filled in. The CRD schema
 * defaults them too; resolving here as well means a node's spec is always
 * complete (the agent never guesses) and equal specs compare equal.
 */
import { kernelSettings, ovsSettings, vxlanSettings } from '../api/index.js';
import type { AddressFamily, EvpnFabric, KernelSettings, OvsSettings, VxlanSettings } from './model.js';

export interface ResolvedFabric {
  name: string;
  addressFamily: AddressFamily;
  localAddressFrom: 'InternalIP' | 'Annotation';
  vxlan: VxlanSettings;
  ovs: OvsSettings;
  kernel: KernelSettings;
}

/** DESIGN 3.1's defaults, taken from the API schemas (the CRDs are generated from the same source). */
export const FABRIC_DEFAULTS: { vxlan: VxlanSettings; ovs: OvsSettings; kernel: KernelSettings } = {
  vxlan: vxlanSettings.parse({}),
  ovs: ovsSettings.parse({}),
  kernel: kernelSettings.parse({}),
};

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
      mode: spec.vxlan?.mode ?? d.vxlan.mode,
      deviceTemplate: spec.vxlan?.deviceTemplate ?? d.vxlan.deviceTemplate,
      bridgeTemplate: spec.vxlan?.bridgeTemplate ?? d.vxlan.bridgeTemplate,
      device: spec.vxlan?.device ?? d.vxlan.device,
      bridge: spec.vxlan?.bridge ?? d.vxlan.bridge,
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
      bucketLayout: ovs.bucketLayout ?? d.ovs.bucketLayout,
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
      exportLocalMacs: kernel.exportLocalMacs ?? d.kernel.exportLocalMacs,
    },
  };
}
