/**
 * devices — the kernel devices the agent owns on the node (with
 * kernel.manage): what an EVPN control plane needs to see the node's VNIs
 * and local MACs, and what the agent writes its FDB entries into.
 *
 * PerVni, for every VNI the node needs (a spec group's VNI, or a local
 * port's evpn-vni):
 *   <bridgeTemplate>   bridge (FRR's zebra maps a VNI to its bridge)
 *   <deviceTemplate>   vxlan id VNI local <localVtepIP> dstport <port>
 *                      nolearning, port of the bridge (learning off)
 *   evpa-<VNI>         veth, port of the bridge (learning off): the access
 *                      port that holds the exported local MACs; its peer
 *                      evpb-<VNI> is up, so the port is oper-up
 * Single:
 *   <vxlan.bridge>     bridge vlan_filtering 1 vlan_default_pvid 0
 *   <vxlan.device>     vxlan external vnifilter local <localVtepIP> dstport
 *                      <port> nolearning, port of the bridge (vlan_tunnel on,
 *                      learning off, neigh_suppress on), a VLAN per VNI
 *                      mapped to the VNI (tunnel_info), every VNI in its filter
 *   evpa-svd           veth, port of the bridge, tagged in every VLAN
 * (FRR's single VXLAN device layout.) Every device is up, has no IPv6
 * link-local address (addrgenmode none: it never emits anything of its own;
 * Open vSwitch carries the traffic), and carries the alias `evpn-ecmp:<role>`.
 * Bridges are made with multicast snooping off: a snooping bridge joins the
 * all-snoopers groups (224.0.0.106, ff02::6a) when it comes up and sends
 * IGMP/MLD reports for them out of every port — the VXLAN port too, whose
 * flood list then carries them to every remote VTEP (seen in the lab: 8
 * frames per VXLAN device over the control network at start-up); a port's
 * mcast_flood off does not stop what the bridge itself sends (br_flood,
 * net/bridge/br_forward.c). The alias is the ownership mark, which
 * survives agent restarts. The agent creates, repairs and deletes only
 * devices with that mark; a device of the same name without it belongs to
 * someone else and is used as it is, never changed. (A bridge an earlier
 * agent made with snooping on keeps it: the plan compares kinds only.)
 *
 * VLANs (Single mode) are local to the node's bridge: VLAN = VNI where the
 * VNI is a valid VLAN id and free, else the lowest free one; kept for as
 * long as this process runs and the VNI is needed.
 *
 * Consumes: nodeState (fabric, groups), ovs (local ports' VNIs).
 * Produces: the desired devices by name, and per VNI where its exported
 * local MACs go (the access port, and its VLAN in Single mode).
 * Always recomputed: a handful of devices per VNI, and VNIs change rarely.
 */
import type { EngineNode } from '../engine.js';
import type { NodeStateNode } from './node-state.js';
import type { OvsNode } from './ovs.js';
import { deviceName } from './kernel-desired.js';
import type { FabricSettings } from '../../model.js';
import { deepEqual } from '../../../util/equal.js';

export type DeviceRole = 'vxlan' | 'bridge' | 'access' | 'accessPeer';

/** The alias that marks a device as the agent's. */
export const OWNER_ALIAS_PREFIX = 'evpn-ecmp:';

export function ownerAlias(role: DeviceRole): string {
  return `${OWNER_ALIAS_PREFIX}${role}`;
}

export interface DesiredDevice {
  name: string;
  role: DeviceRole;
  kind: 'vxlan' | 'bridge' | 'veth';
  vxlan?: { vni?: number; external: boolean; vnifilter: boolean; local: string; port: number };
  bridge?: { vlanFiltering: boolean };
  /** veth: the other end's name (itself a desired device, role accessPeer). */
  peer?: string;
  /** The bridge this device is a port of. */
  master?: string;
  /** Bridge port settings (only for a device with a master). */
  port?: { learning: boolean; vlanTunnel?: boolean; neighSuppress?: boolean };
  /** Single mode: the VNIs of the vnifilter device's filter. */
  vnis?: number[];
  /** Single mode: the port's VLANs, and the VNI each maps to (VXLAN port only). */
  vlans?: Array<{ vid: number; tunnelId?: number }>;
}

/** Where a VNI's exported local MACs go. */
export interface ExportPort {
  device: string;
  /** Single mode: the VNI's VLAN on the bridge. */
  vlan?: number;
}

export interface DevicesData {
  /** Desired devices by name, bridges before their ports. */
  devices: Map<string, DesiredDevice>;
  /** VNI → its access port (kernel.exportLocalMacs with a bridge). */
  exportPorts: Map<number, ExportPort>;
  /** The VNIs the node needs. */
  vnis: number[];
  /** Whether the local ports are known yet: until they are, devices nothing else needs are not deleted. */
  complete: boolean;
}

const MAX_VID = 4094;

export function createDevicesNode(deps: { nodeState: NodeStateNode; ovs: OvsNode }): EngineNode<DevicesData> {
  const { nodeState, ovs } = deps;
  const data: DevicesData = { devices: new Map(), exportPorts: new Map(), vnis: [], complete: false };
  const vlanOfVni = new Map<number, number>();

  const assignVlans = (vnis: readonly number[]): void => {
    const needed = new Set(vnis);
    for (const vni of [...vlanOfVni.keys()]) if (!needed.has(vni)) vlanOfVni.delete(vni);
    const used = new Set(vlanOfVni.values());
    for (const vni of vnis) if (!vlanOfVni.has(vni) && vni <= MAX_VID && !used.has(vni)) {
      vlanOfVni.set(vni, vni);
      used.add(vni);
    }
    let next = 1;
    for (const vni of vnis) {
      if (vlanOfVni.has(vni)) continue;
      while (used.has(next) && next <= MAX_VID) next++;
      if (next > MAX_VID) break; // more VNIs than VLANs: the rest get none (and no export)
      vlanOfVni.set(vni, next);
      used.add(next);
    }
  };

  const build = (f: FabricSettings, vnis: readonly number[]): Map<string, DesiredDevice> => {
    const out = new Map<string, DesiredDevice>();
    const add = (d: DesiredDevice): void => void out.set(d.name, d);
    const vxlanBase = { local: f.localVtepIP, port: f.vxlan.port };
    const access = (name: string, peer: string, master: string, vlans?: DesiredDevice['vlans']): void => {
      add({ name, role: 'access', kind: 'veth', peer, master, port: { learning: false }, ...(vlans ? { vlans } : {}) });
      add({ name: peer, role: 'accessPeer', kind: 'veth', peer: name });
    };
    if (f.vxlan.mode === 'Single') {
      assignVlans(vnis);
      const bridge = f.vxlan.bridge;
      const mapped = vnis.flatMap((vni) => (vlanOfVni.has(vni) ? [{ vid: vlanOfVni.get(vni)!, tunnelId: vni }] : []));
      add({ name: bridge, role: 'bridge', kind: 'bridge', bridge: { vlanFiltering: true } });
      add({
        name: f.vxlan.device, role: 'vxlan', kind: 'vxlan', vxlan: { ...vxlanBase, external: true, vnifilter: true }, master: bridge,
        port: { learning: false, vlanTunnel: true, neighSuppress: true }, vnis: [...vnis], vlans: mapped,
      });
      if (f.kernel.exportLocalMacs) access('evpa-svd', 'evpb-svd', bridge, mapped.map((m) => ({ vid: m.vid })));
      data.exportPorts = new Map(f.kernel.exportLocalMacs ? vnis.flatMap((vni) => (vlanOfVni.has(vni) ? [[vni, { device: 'evpa-svd', vlan: vlanOfVni.get(vni)! }] as const] : [])) : []);
      return out;
    }
    vlanOfVni.clear();
    const exportPorts = new Map<number, ExportPort>();
    for (const vni of vnis) {
      const bridge = f.vxlan.bridgeTemplate === '' ? undefined : deviceName(f.vxlan.bridgeTemplate, vni);
      if (bridge) add({ name: bridge, role: 'bridge', kind: 'bridge', bridge: { vlanFiltering: false } });
      add({ name: deviceName(f.vxlan.deviceTemplate, vni), role: 'vxlan', kind: 'vxlan', vxlan: { ...vxlanBase, vni, external: false, vnifilter: false }, ...(bridge ? { master: bridge, port: { learning: false } } : {}) });
      if (bridge && f.kernel.exportLocalMacs) {
        access(`evpa-${vni}`, `evpb-${vni}`, bridge);
        exportPorts.set(vni, { device: `evpa-${vni}` });
      }
    }
    data.exportPorts = exportPorts;
    return out;
  };

  return {
    name: 'devices',
    // Only the VNIs of the groups matter here, not the groups themselves.
    inputs: [{ node: nodeState, handler: () => (nodeState.data.tracked.fabricChanged || nodeState.data.tracked.vnisChanged ? 'unhandled' : 'unchanged') }, { node: ovs }],
    data,
    recompute() {
      const spec = nodeState.data.spec;
      const f = spec?.fabric;
      const vnis = f?.kernel.manage ? [...new Set([...nodeState.data.vnis.keys(), ...ovs.data.portsByVni.keys()])].sort((a, b) => a - b) : [];
      const previous = { devices: data.devices, exportPorts: data.exportPorts };
      data.devices = f ? build(f, vnis) : new Map();
      if (!f) data.exportPorts = new Map();
      data.vnis = vnis;
      const wasComplete = data.complete;
      data.complete = ovs.data.interfacesKnown;
      return wasComplete === data.complete && deepEqual([...previous.devices], [...data.devices]) && deepEqual([...previous.exportPorts], [...data.exportPorts]) ? 'unchanged' : 'updated';
    },
  };
}
