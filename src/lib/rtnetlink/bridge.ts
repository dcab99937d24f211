/**
 * Linux bridge attributes (UAPI if_link.h, if_bridge.h): a bridge device's
 * IFLA_BR_* settings (IFLA_INFO_DATA of kind "bridge"), a port's
 * IFLA_BRPORT_* settings (IFLA_PROTINFO of an AF_BRIDGE link message, and
 * IFLA_INFO_SLAVE_DATA of a port's ordinary link message), and the AF_BRIDGE
 * IFLA_AF_SPEC that carries VLANs and VLAN→tunnel-id mappings
 * (net/bridge/br_netlink.c br_fill_ifinfo / br_afspec).
 */
import { attrTable, type CustomKind, type RawAttribute } from './attributes.js';
import {
  BRIDGE_VLAN_INFO_PVID,
  BRIDGE_VLAN_INFO_RANGE_BEGIN,
  BRIDGE_VLAN_INFO_RANGE_END,
  BRIDGE_VLAN_INFO_UNTAGGED,
  IFLA_BR_MCAST_SNOOPING,
  IFLA_BR_VLAN_DEFAULT_PVID,
  IFLA_BR_VLAN_FILTERING,
  IFLA_BRIDGE_FLAGS,
  IFLA_BRIDGE_MODE,
  IFLA_BRIDGE_VLAN_INFO,
  IFLA_BRIDGE_VLAN_TUNNEL_FLAGS,
  IFLA_BRIDGE_VLAN_TUNNEL_ID,
  IFLA_BRIDGE_VLAN_TUNNEL_INFO,
  IFLA_BRIDGE_VLAN_TUNNEL_VID,
  IFLA_BRPORT_BCAST_FLOOD,
  IFLA_BRPORT_COST,
  IFLA_BRPORT_ISOLATED,
  IFLA_BRPORT_LEARNING,
  IFLA_BRPORT_MCAST_FLOOD,
  IFLA_BRPORT_NEIGH_SUPPRESS,
  IFLA_BRPORT_PRIORITY,
  IFLA_BRPORT_STATE,
  IFLA_BRPORT_UNICAST_FLOOD,
  IFLA_BRPORT_VLAN_TUNNEL,
} from './constants.js';
import { NetlinkDecodeError, NetlinkEncodeError } from './errors.js';

/** IFLA_BR_* of a bridge device, as decoded (the rest stays in `raw`). */
export interface BridgeInfo {
  /** VLAN-aware bridge. Needs CONFIG_BRIDGE_VLAN_FILTERING in the kernel (EOPNOTSUPP otherwise). */
  vlanFiltering?: boolean;
  /** VLAN given to new ports as PVID/untagged; 0 = none (FRR's SVD layout). */
  vlanDefaultPvid?: number;
  /**
   * IGMP/MLD snooping (the kernel's default: on). A snooping bridge joins
   * the all-snoopers groups (224.0.0.106, ff02::6a) when it comes up and
   * sends reports for them out of every port (br_multicast_join_snoopers,
   * net/bridge/br_multicast.c); the ports' mcast_flood setting does not stop
   * frames the bridge itself sends.
   */
  mcastSnooping?: boolean;
  raw?: RawAttribute[];
}

export const bridgeInfoAttributes = attrTable('IFLA_INFO_DATA(bridge)', [
  // Order as `ip link add NAME type bridge vlan_filtering X vlan_default_pvid Y mcast_snooping Z` sends them.
  { type: IFLA_BR_VLAN_FILTERING, name: 'IFLA_BR_VLAN_FILTERING', key: 'vlanFiltering', kind: 'bool' },
  { type: IFLA_BR_VLAN_DEFAULT_PVID, name: 'IFLA_BR_VLAN_DEFAULT_PVID', key: 'vlanDefaultPvid', kind: 'u16' },
  { type: IFLA_BR_MCAST_SNOOPING, name: 'IFLA_BR_MCAST_SNOOPING', key: 'mcastSnooping', kind: 'bool' },
]);

/** IFLA_BRPORT_* of a bridge port, as decoded (the kernel sends ~40; the rest stays in `raw`). */
export interface BridgePortInfo {
  /** BR_STATE_* (3 = forwarding). */
  state?: number;
  priority?: number;
  cost?: number;
  /** MAC learning on frames received on this port. */
  learning?: boolean;
  unicastFlood?: boolean;
  mcastFlood?: boolean;
  bcastFlood?: boolean;
  /** Frames keep their VLAN→tunnel-id mapping (the SVD VXLAN port). */
  vlanTunnel?: boolean;
  /** ARP/ND suppression (EVPN: answer from the neighbour table instead of flooding). */
  neighSuppress?: boolean;
  isolated?: boolean;
  raw?: RawAttribute[];
}

// Encoding follows table order: learning, neigh_suppress, vlan_tunnel is the
// order `bridge link set ... learning off vlan_tunnel on neigh_suppress on`
// sends them in (iproute2 bridge/link.c adds them after parsing, in this order).
export const bridgePortAttributes = attrTable('IFLA_PROTINFO(bridge port)', [
  { type: IFLA_BRPORT_STATE, name: 'IFLA_BRPORT_STATE', key: 'state', kind: 'u8' },
  { type: IFLA_BRPORT_PRIORITY, name: 'IFLA_BRPORT_PRIORITY', key: 'priority', kind: 'u16' },
  { type: IFLA_BRPORT_COST, name: 'IFLA_BRPORT_COST', key: 'cost', kind: 'u32' },
  { type: IFLA_BRPORT_LEARNING, name: 'IFLA_BRPORT_LEARNING', key: 'learning', kind: 'bool' },
  { type: IFLA_BRPORT_NEIGH_SUPPRESS, name: 'IFLA_BRPORT_NEIGH_SUPPRESS', key: 'neighSuppress', kind: 'bool' },
  { type: IFLA_BRPORT_VLAN_TUNNEL, name: 'IFLA_BRPORT_VLAN_TUNNEL', key: 'vlanTunnel', kind: 'bool' },
  { type: IFLA_BRPORT_UNICAST_FLOOD, name: 'IFLA_BRPORT_UNICAST_FLOOD', key: 'unicastFlood', kind: 'bool' },
  { type: IFLA_BRPORT_MCAST_FLOOD, name: 'IFLA_BRPORT_MCAST_FLOOD', key: 'mcastFlood', kind: 'bool' },
  { type: IFLA_BRPORT_BCAST_FLOOD, name: 'IFLA_BRPORT_BCAST_FLOOD', key: 'bcastFlood', kind: 'bool' },
  { type: IFLA_BRPORT_ISOLATED, name: 'IFLA_BRPORT_ISOLATED', key: 'isolated', kind: 'bool' },
]);

/**
 * struct bridge_vlan_info {u16 flags; u16 vid} as the kernel sends it.
 * `flags` are BRIDGE_VLAN_INFO_* bits: PVID, UNTAGGED, BRENTRY (a VLAN of the
 * bridge device itself), RANGE_BEGIN/RANGE_END (a compressed range: the
 * entries in between are implied).
 */
export interface BridgeVlanInfo {
  vid: number;
  flags: number;
}

/** IFLA_BRIDGE_VLAN_TUNNEL_INFO: one VLAN→tunnel id (VNI) mapping of a port with vlan_tunnel on. */
export interface BridgeVlanTunnelInfo {
  tunnelId?: number;
  vid?: number;
  /** RANGE_BEGIN/RANGE_END for a compressed range of consecutive vid→id pairs. */
  flags?: number;
  raw?: RawAttribute[];
}

/** IFLA_AF_SPEC of an AF_BRIDGE link message or request. */
export interface BridgeAfSpec {
  /** BRIDGE_FLAGS_SELF: the request is for the device itself (`bridge vlan add ... self`). */
  flags?: number;
  mode?: number;
  vlans?: BridgeVlanInfo[];
  tunnels?: BridgeVlanTunnelInfo[];
  raw?: RawAttribute[];
}

const MAX_VID = 4094;

const bridgeVlanInfoKind: CustomKind = {
  decode(buf, off, len, field) {
    if (len < 4) throw new NetlinkDecodeError(field, off - 4, `struct bridge_vlan_info needs 4 bytes, attribute has ${len}`);
    return { flags: buf.readUInt16LE(off), vid: buf.readUInt16LE(off + 2) };
  },
  encode(w, type, value, field) {
    const v = value as BridgeVlanInfo;
    if (typeof v !== 'object' || v === null) throw new NetlinkEncodeError(field, 'expected {vid, flags}');
    if (!Number.isInteger(v.vid) || v.vid < 0 || v.vid > 0xffff) throw new NetlinkEncodeError(field, `vid ${v.vid} is not a u16`);
    if (!Number.isInteger(v.flags) || v.flags < 0 || v.flags > 0xffff) throw new NetlinkEncodeError(field, `flags ${v.flags} is not a u16`);
    const b = Buffer.alloc(4);
    b.writeUInt16LE(v.flags, 0);
    b.writeUInt16LE(v.vid, 2);
    w.attrBytes(type, b);
  },
};

const vlanTunnelAttributes = attrTable('IFLA_BRIDGE_VLAN_TUNNEL_INFO', [
  { type: IFLA_BRIDGE_VLAN_TUNNEL_ID, name: 'IFLA_BRIDGE_VLAN_TUNNEL_ID', key: 'tunnelId', kind: 'u32' },
  { type: IFLA_BRIDGE_VLAN_TUNNEL_VID, name: 'IFLA_BRIDGE_VLAN_TUNNEL_VID', key: 'vid', kind: 'u16' },
  { type: IFLA_BRIDGE_VLAN_TUNNEL_FLAGS, name: 'IFLA_BRIDGE_VLAN_TUNNEL_FLAGS', key: 'flags', kind: 'u16' },
]);

// iproute2 (bridge/vlan.c) sends IFLA_AF_SPEC and the tunnel-info nest without NLA_F_NESTED.
export const bridgeAfSpecAttributes = attrTable('IFLA_AF_SPEC(bridge)', [
  { type: IFLA_BRIDGE_FLAGS, name: 'IFLA_BRIDGE_FLAGS', key: 'flags', kind: 'u16' },
  { type: IFLA_BRIDGE_MODE, name: 'IFLA_BRIDGE_MODE', key: 'mode', kind: 'u16' },
  { type: IFLA_BRIDGE_VLAN_INFO, name: 'IFLA_BRIDGE_VLAN_INFO', key: 'vlans', kind: bridgeVlanInfoKind, repeated: true },
  { type: IFLA_BRIDGE_VLAN_TUNNEL_INFO, name: 'IFLA_BRIDGE_VLAN_TUNNEL_INFO', key: 'tunnels', kind: { nested: vlanTunnelAttributes, flag: false }, repeated: true },
]);

/** One VLAN of a port (or of the bridge itself), ranges expanded. */
export interface PortVlan {
  vid: number;
  /** Untagged frames received on the port belong to this VLAN. */
  pvid: boolean;
  /** Frames leave the port without a tag. */
  untagged: boolean;
  /** BRIDGE_VLAN_INFO_* without the range bits (BRENTRY: a VLAN of the bridge device itself). */
  flags: number;
}

/** One VLAN→tunnel id mapping, ranges expanded. */
export interface PortVlanTunnel {
  vid: number;
  tunnelId: number;
}

/**
 * Expands the VLAN list of an IFLA_AF_SPEC: a RANGE_BEGIN entry and the
 * following RANGE_END entry stand for every vid between them with the same
 * flags (what RTEXT_FILTER_BRVLAN_COMPRESSED dumps and notifications carry).
 * Throws NetlinkDecodeError for a range that does not close or runs backwards.
 */
export function expandBridgeVlans(vlans: readonly BridgeVlanInfo[]): PortVlan[] {
  const out: PortVlan[] = [];
  const one = (vid: number, flags: number) =>
    out.push({ vid, pvid: (flags & BRIDGE_VLAN_INFO_PVID) !== 0, untagged: (flags & BRIDGE_VLAN_INFO_UNTAGGED) !== 0, flags: flags & ~(BRIDGE_VLAN_INFO_RANGE_BEGIN | BRIDGE_VLAN_INFO_RANGE_END) });
  for (let i = 0; i < vlans.length; i++) {
    const v = vlans[i]!;
    if (!(v.flags & BRIDGE_VLAN_INFO_RANGE_BEGIN)) {
      one(v.vid, v.flags);
      continue;
    }
    const end = vlans[++i];
    if (!end || !(end.flags & BRIDGE_VLAN_INFO_RANGE_END) || end.vid < v.vid || end.vid > MAX_VID) {
      throw new NetlinkDecodeError('IFLA_BRIDGE_VLAN_INFO', 0, `VLAN range starting at ${v.vid} has no valid RANGE_END`);
    }
    for (let vid = v.vid; vid <= end.vid; vid++) one(vid, v.flags);
  }
  return out;
}

/** Expands VLAN→tunnel mappings; in a range, vid and tunnel id advance together (br_netlink_tunnel.c). */
export function expandBridgeVlanTunnels(tunnels: readonly BridgeVlanTunnelInfo[]): PortVlanTunnel[] {
  const out: PortVlanTunnel[] = [];
  for (let i = 0; i < tunnels.length; i++) {
    const t = tunnels[i]!;
    if (t.vid === undefined || t.tunnelId === undefined) throw new NetlinkDecodeError('IFLA_BRIDGE_VLAN_TUNNEL_INFO', 0, 'a tunnel mapping needs both a vid and a tunnel id');
    if (!((t.flags ?? 0) & BRIDGE_VLAN_INFO_RANGE_BEGIN)) {
      out.push({ vid: t.vid, tunnelId: t.tunnelId });
      continue;
    }
    const end = tunnels[++i];
    if (!end || end.vid === undefined || !((end.flags ?? 0) & BRIDGE_VLAN_INFO_RANGE_END) || end.vid < t.vid || end.vid > MAX_VID) {
      throw new NetlinkDecodeError('IFLA_BRIDGE_VLAN_TUNNEL_INFO', 0, `tunnel range starting at vid ${t.vid} has no valid RANGE_END`);
    }
    for (let vid = t.vid; vid <= end.vid; vid++) out.push({ vid, tunnelId: t.tunnelId + (vid - t.vid) });
  }
  return out;
}
