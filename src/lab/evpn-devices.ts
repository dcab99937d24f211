/**
 * The kernel devices of a lab node's VNIs, as an EVPN control plane needs
 * them: per VNI a VXLAN device `evpn-<vni>` (the fabric's deviceTemplate)
 * enslaved to a bridge `br-<vni>`.
 *
 * FRR's zebra takes a VNI only while its VXLAN device is oper up and a
 * bridge port (shared/reference/frr-evpn.md: a VXLAN device taken down or out
 * of its bridge makes zebra drop the VNI with its FDB entries, groups and
 * flood entries). The bridge stays admin down: zebra does not look at its
 * state, and a down bridge forwards nothing, so no frame ever crosses the
 * kernel devices — Open vSwitch carries the traffic.
 *
 * Stand-in until the agent owns the node's VXLAN plumbing (issue 16): then
 * the lab stops calling this and uses the devices the agent creates.
 */
import { LAB_VNIS, underlayAddress } from './layout.js';
import type { NetworkNamespace } from './netns.js';

export const vxlanDeviceName = (vni: number): string => `evpn-${vni}`;
export const vniBridgeName = (vni: number): string => `br-${vni}`;

interface LinkInfo {
  ifname: string;
  master?: string;
  flags?: string[];
}

/** Creates whatever of the node's per-VNI VXLAN devices and bridges is missing; idempotent. */
export async function ensureEvpnDevices(ns: NetworkNamespace, node: string): Promise<void> {
  const links = new Map((await ns.ipJson<LinkInfo>('link', 'show')).map((l) => [l.ifname, l]));
  for (const vni of LAB_VNIS) {
    const vxlan = vxlanDeviceName(vni);
    const bridge = vniBridgeName(vni);
    if (!links.has(vxlan)) await ns.addVxlan(vxlan, vni, { local: underlayAddress(node) });
    if (!links.has(bridge)) {
      await ns.ip('link', 'add', bridge, 'type', 'bridge');
      await ns.ip('link', 'set', bridge, 'addrgenmode', 'none');
    }
    if (links.get(vxlan)?.master !== bridge) {
      await ns.ip('link', 'set', vxlan, 'master', bridge);
      // Remote MACs come from the control plane, never from data-plane learning.
      await ns.ip('link', 'set', vxlan, 'type', 'bridge_slave', 'learning', 'off');
    }
    await ns.ip('link', 'set', vxlan, 'up');
  }
}
