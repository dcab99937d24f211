/**
 * RTM_*LINK requests: creating VXLAN, bridge and veth devices, changing a
 * device (master, alias, addrgenmode, up/down), a bridge port's settings and
 * VLANs (family AF_BRIDGE, as `bridge link` / `bridge vlan` send them), and
 * link dumps. Built exactly as iproute2 builds the command named on each
 * builder (the unit tests hold bytes captured from iproute2 6.1); sequence
 * numbers are left 0 for the transport.
 */
import { attrTable, encodeAttributes } from './attributes.js';
import { bridgeInfoAttributes, type BridgeAfSpec, type BridgeInfo, type BridgePortInfo } from './bridge.js';
import {
  AF_BRIDGE,
  AF_INET6,
  BRIDGE_FLAGS_SELF,
  BRIDGE_VLAN_INFO_PVID,
  BRIDGE_VLAN_INFO_UNTAGGED,
  IFF_UP,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_INET6_ADDR_GEN_MODE,
  IN6_ADDR_GEN_MODE_NONE,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RTEXT_FILTER_BRVLAN,
  RTEXT_FILTER_SKIP_STATS,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
  VETH_INFO_PEER,
} from './constants.js';
import { NetlinkEncodeError } from './errors.js';
import { bridgePortLinkAttributes, encodeIfinfomsg, linkAttributes, nestedPayload, vxlanInfoData, type VxlanInfo } from './link.js';
import { buildMessage, NetlinkWriter } from './writer.js';

const WRITE = NLM_F_REQUEST | NLM_F_ACK;
const CREATE = WRITE | NLM_F_CREATE | NLM_F_EXCL;
const MAX_VNI = 0xffffff;
const MAX_VID = 4094;

function checkName(field: string, name: string): void {
  if (typeof name !== 'string' || !name || Buffer.byteLength(name) > 15 || /[\s/:]/.test(name)) {
    throw new NetlinkEncodeError(field, `"${String(name)}" is not a valid device name (1..15 bytes, no whitespace, '/' or ':')`);
  }
}

function checkIfindex(ifindex: number): void {
  if (!Number.isInteger(ifindex) || ifindex < 1 || ifindex > 0x7fffffff) throw new NetlinkEncodeError('ifinfomsg.ifi_index', `${ifindex} is not an ifindex`);
}

function checkVni(field: string, vni: number | undefined): void {
  if (vni !== undefined && (!Number.isInteger(vni) || vni < 0 || vni > MAX_VNI)) throw new NetlinkEncodeError(field, `${vni} is outside 0..${MAX_VNI}`);
}

function checkVid(field: string, vid: number): void {
  if (!Number.isInteger(vid) || vid < 1 || vid > MAX_VID) throw new NetlinkEncodeError(field, `VLAN ${vid} is outside 1..${MAX_VID}`);
}

/** Writes an all-zero ifinfomsg, then [mtu], name and IFLA_LINKINFO {kind, data}: the body of `ip link add [mtu M] NAME type KIND ...`. */
function encodeNewLinkBody(w: NetlinkWriter, name: string, kind: string, data: Uint8Array | undefined, mtu?: number): void {
  checkName('IFLA_IFNAME', name);
  encodeIfinfomsg(w, 0);
  encodeAttributes(w, linkAttributes, { mtu, name, linkinfo: data ? { kind, data } : { kind } });
}

/** What `createVxlan` asks for; mirrors `ip link add NAME type vxlan id VNI ...`. */
export interface VxlanSpec {
  name: string;
  vni?: number;
  /** IPv4 or IPv6 source address (IFLA_VXLAN_LOCAL or LOCAL6). */
  local?: string;
  port?: number;
  learning?: boolean;
  /** Flow-based device (collect_metadata): no fixed VNI; FDB entries are keyed by (MAC, src VNI). */
  external?: boolean;
  /** With `external`: receive only the VNIs in the device's VNI filter (`bridge vni add`). */
  vnifilter?: boolean;
  ttl?: number;
  ageing?: number;
  /** Underlay device (IFLA_VXLAN_LINK). */
  link?: number;
  mtu?: number;
}

/**
 * Writes struct ifinfomsg and the attributes of a new VXLAN device: the body
 * of `ip link add NAME type vxlan [external] [vnifilter] [dev D] [ttl T]
 * [ageing A] [id VNI] [local IP] [[no]learning] [dstport P]`.
 */
export function encodeVxlanLinkBody(w: NetlinkWriter, spec: VxlanSpec): void {
  checkVni('IFLA_VXLAN_ID', spec.vni);
  if (spec.vnifilter && !spec.external) throw new NetlinkEncodeError('IFLA_VXLAN_VNIFILTER', 'vnifilter needs an external (collect_metadata) device');
  const vx: VxlanInfo = { external: spec.external, vnifilter: spec.vnifilter, link: spec.link, ttl: spec.ttl, ageing: spec.ageing, vni: spec.vni, local: spec.local, learning: spec.learning, port: spec.port };
  encodeNewLinkBody(w, spec.name, 'vxlan', vxlanInfoData(vx), spec.mtu);
}

/** `ip link add NAME type vxlan ...` (see encodeVxlanLinkBody for the argument order that matches byte for byte). */
export function createVxlanRequest(spec: VxlanSpec): Buffer {
  return buildMessage(RTM_NEWLINK, CREATE, (w) => encodeVxlanLinkBody(w, spec));
}

/** What `createBridge` asks for; mirrors `ip link add NAME type bridge [vlan_filtering 0|1] [vlan_default_pvid N] [mcast_snooping 0|1]`. */
export interface BridgeSpec {
  name: string;
  vlanFiltering?: boolean;
  /** 0 = new ports get no VLAN (FRR's SVD layout); the kernel's default is 1. */
  vlanDefaultPvid?: number;
  /** false: no IGMP/MLD snooping, so the bridge sends no reports of its own (see BridgeInfo.mcastSnooping). */
  mcastSnooping?: boolean;
  mtu?: number;
}

/** `ip link add NAME type bridge [vlan_filtering 0|1] [vlan_default_pvid N] [mcast_snooping 0|1]` */
export function createBridgeRequest(spec: BridgeSpec): Buffer {
  if (spec.vlanDefaultPvid !== undefined && (!Number.isInteger(spec.vlanDefaultPvid) || spec.vlanDefaultPvid < 0 || spec.vlanDefaultPvid > MAX_VID)) {
    throw new NetlinkEncodeError('IFLA_BR_VLAN_DEFAULT_PVID', `${spec.vlanDefaultPvid} is outside 0..${MAX_VID}`);
  }
  const info: BridgeInfo = { vlanFiltering: spec.vlanFiltering, vlanDefaultPvid: spec.vlanDefaultPvid, mcastSnooping: spec.mcastSnooping };
  const hasData = info.vlanFiltering !== undefined || info.vlanDefaultPvid !== undefined || info.mcastSnooping !== undefined;
  return buildMessage(RTM_NEWLINK, CREATE, (w) => encodeNewLinkBody(w, spec.name, 'bridge', hasData ? nestedPayload(bridgeInfoAttributes, info) : undefined, spec.mtu));
}

/** What `createVeth` asks for; mirrors `ip link add NAME type veth peer name PEER`. */
export interface VethSpec {
  name: string;
  peerName: string;
  /** Both ends (a veth passes frames only up to the smaller MTU). */
  mtu?: number;
}

/** `ip link add NAME [mtu M] type veth peer name PEER [mtu M]`: VETH_INFO_PEER is the peer's ifinfomsg and attributes. */
export function createVethRequest(spec: VethSpec): Buffer {
  checkName('VETH_INFO_PEER/IFLA_IFNAME', spec.peerName);
  const data = new NetlinkWriter(64);
  const peer = data.beginNested(VETH_INFO_PEER, false);
  encodeIfinfomsg(data, 0);
  encodeAttributes(data, linkAttributes, { mtu: spec.mtu, name: spec.peerName });
  data.endNested(peer);
  return buildMessage(RTM_NEWLINK, CREATE, (w) => encodeNewLinkBody(w, spec.name, 'veth', data.bytesSoFar(), spec.mtu));
}

/** Device changes made with one RTM_NEWLINK (the up/down state goes separately: see setLinkUpRequest). */
export interface LinkAttributeChanges {
  /** IFLA_MASTER: the bridge to enslave the device to; 0 = leave it (`nomaster`). */
  master?: number;
  /** IFLA_IFALIAS (at most 255 bytes); '' removes it. */
  alias?: string;
  /** IFLA_INET6_ADDR_GEN_MODE none: no IPv6 link-local address (true; false changes nothing). */
  addrGenModeNone?: boolean;
}

const inet6AfSpecAttributes = attrTable('IFLA_AF_SPEC/AF_INET6', [
  { type: IFLA_INET6_ADDR_GEN_MODE, name: 'IFLA_INET6_ADDR_GEN_MODE', key: 'addrGenMode', kind: 'u8' },
]);
const deviceAfSpecAttributes = attrTable('IFLA_AF_SPEC', [{ type: AF_INET6, name: 'AF_INET6', key: 'inet6', kind: { nested: inet6AfSpecAttributes, flag: false } }]);

/** True when `changes` asks for anything. */
export function hasLinkAttributeChanges(changes: LinkAttributeChanges): boolean {
  return changes.master !== undefined || changes.alias !== undefined || changes.addrGenModeNone === true;
}

/** `ip link set dev DEV [alias A | alias ""] [master M | nomaster] [addrgenmode none]` */
export function setLinkRequest(ifindex: number, changes: LinkAttributeChanges): Buffer {
  checkIfindex(ifindex);
  if (changes.master !== undefined && (!Number.isInteger(changes.master) || changes.master < 0 || changes.master > 0x7fffffff)) {
    throw new NetlinkEncodeError('IFLA_MASTER', `${changes.master} is not an ifindex (0 = no master)`);
  }
  const afSpec = changes.addrGenModeNone ? nestedPayload(deviceAfSpecAttributes, { inet6: { addrGenMode: IN6_ADDR_GEN_MODE_NONE } }) : undefined;
  return buildMessage(RTM_NEWLINK, WRITE, (w) => {
    encodeIfinfomsg(w, ifindex);
    encodeAttributes(w, linkAttributes, { alias: changes.alias, master: changes.master, afSpec });
  });
}

/** `ip link set dev DEV addrgenmode none` (IFLA_AF_SPEC / AF_INET6 / IFLA_INET6_ADDR_GEN_MODE). */
export function addrGenModeNoneRequest(ifindex: number): Buffer {
  return setLinkRequest(ifindex, { addrGenModeNone: true });
}

/** `ip link set dev DEV up|down` */
export function setLinkUpRequest(ifindex: number, up: boolean): Buffer {
  checkIfindex(ifindex);
  return buildMessage(RTM_NEWLINK, WRITE, (w) => encodeIfinfomsg(w, ifindex, up ? IFF_UP : 0, IFF_UP));
}

/** `ip link del DEV` */
export function deleteLinkRequest(ifindex: number): Buffer {
  checkIfindex(ifindex);
  return buildMessage(RTM_DELLINK, WRITE, (w) => encodeIfinfomsg(w, ifindex));
}

/** `ip link show` without statistics. */
export function dumpLinksRequest(): Buffer {
  return buildMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, (w) => {
    encodeIfinfomsg(w, 0);
    w.attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  });
}

/** `ip link show dev NAME` (by name) or by ifindex. */
export function getLinkRequest(which: { name: string } | { ifindex: number }): Buffer {
  return buildMessage(RTM_GETLINK, NLM_F_REQUEST, (w) => {
    encodeIfinfomsg(w, 'ifindex' in which ? which.ifindex : 0);
    if ('name' in which) w.attrString(IFLA_IFNAME, which.name);
    w.attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  });
}

/** The bridge port flags `setBridgePort` can change. */
export type BridgePortSettings = Pick<BridgePortInfo, 'learning' | 'neighSuppress' | 'vlanTunnel' | 'unicastFlood' | 'mcastFlood' | 'bcastFlood' | 'isolated'>;

/** `bridge link set dev DEV [learning on|off] [neigh_suppress on|off] [vlan_tunnel on|off]`: RTM_SETLINK of family AF_BRIDGE. */
export function setBridgePortRequest(ifindex: number, settings: BridgePortSettings): Buffer {
  checkIfindex(ifindex);
  const { learning, neighSuppress, vlanTunnel, unicastFlood, mcastFlood, bcastFlood, isolated } = settings;
  const port: BridgePortInfo = { learning, neighSuppress, vlanTunnel, unicastFlood, mcastFlood, bcastFlood, isolated };
  if (Object.values(port).every((v) => v === undefined)) throw new NetlinkEncodeError('IFLA_PROTINFO', 'no bridge port setting given');
  return buildMessage(RTM_SETLINK, WRITE, (w) => {
    encodeIfinfomsg(w, ifindex, 0, 0, AF_BRIDGE);
    encodeAttributes(w, bridgePortLinkAttributes, { bridgePort: port });
  });
}

/** A VLAN on a bridge port (or on the bridge itself), or a VLAN→tunnel id mapping on a vlan_tunnel port. */
export interface BridgeVlanSpec {
  vid: number;
  /** Untagged frames received on the port belong to this VLAN. */
  pvid?: boolean;
  /** Frames of this VLAN leave the port untagged. */
  untagged?: boolean;
  /** The VLAN is the bridge device's own (`self`, with the bridge's ifindex). */
  self?: boolean;
  /**
   * Map the VLAN to this tunnel id (VNI) instead (`tunnel_info id VNI`); the
   * VLAN must already be on the port, and the port needs vlan_tunnel on.
   */
  tunnelId?: number;
}

function bridgeVlanAfSpec(spec: BridgeVlanSpec, forDelete: boolean): BridgeAfSpec {
  checkVid('IFLA_BRIDGE_VLAN_INFO.vid', spec.vid);
  if (spec.tunnelId !== undefined) {
    checkVni('IFLA_BRIDGE_VLAN_TUNNEL_ID', spec.tunnelId);
    if (spec.pvid || spec.untagged || spec.self) throw new NetlinkEncodeError('IFLA_BRIDGE_VLAN_TUNNEL_INFO', 'a tunnel mapping takes no pvid, untagged or self: add the VLAN first, then the mapping');
    return { tunnels: [{ tunnelId: spec.tunnelId, vid: spec.vid, flags: 0 }] };
  }
  const flags = forDelete ? 0 : (spec.pvid ? BRIDGE_VLAN_INFO_PVID : 0) | (spec.untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0);
  return { ...(spec.self ? { flags: BRIDGE_FLAGS_SELF } : {}), vlans: [{ vid: spec.vid, flags }] };
}

function bridgeAfSpecRequest(type: number, ifindex: number, afSpec: BridgeAfSpec): Buffer {
  checkIfindex(ifindex);
  return buildMessage(type, WRITE, (w) => {
    encodeIfinfomsg(w, ifindex, 0, 0, AF_BRIDGE);
    // bridgePortLinkAttributes sends IFLA_AF_SPEC without NLA_F_NESTED, as iproute2 bridge/vlan.c does.
    encodeAttributes(w, bridgePortLinkAttributes, { bridgeAfSpec: afSpec });
  });
}

/**
 * `bridge vlan add dev DEV vid V [pvid] [untagged] [self]`, or with
 * `tunnelId`: `bridge vlan add dev DEV vid V tunnel_info id VNI` (RTM_SETLINK
 * of family AF_BRIDGE with IFLA_AF_SPEC).
 */
export function addBridgeVlanRequest(ifindex: number, spec: BridgeVlanSpec): Buffer {
  return bridgeAfSpecRequest(RTM_SETLINK, ifindex, bridgeVlanAfSpec(spec, false));
}

/** `bridge vlan del dev DEV vid V [self]` or `... vid V tunnel_info id VNI` (RTM_DELLINK of family AF_BRIDGE: the device stays). */
export function deleteBridgeVlanRequest(ifindex: number, spec: Omit<BridgeVlanSpec, 'pvid' | 'untagged'>): Buffer {
  return bridgeAfSpecRequest(RTM_DELLINK, ifindex, bridgeVlanAfSpec(spec, true));
}

/**
 * `bridge link show` (no VLANs) or `bridge vlan show` / `bridge vlan
 * tunnelshow` (IFLA_EXT_MASK RTEXT_FILTER_BRVLAN: one VLAN_INFO per VLAN):
 * an RTM_GETLINK dump of family AF_BRIDGE, answered with one AF_BRIDGE link
 * message per bridge port (and per bridge with VLANs of its own).
 */
export function dumpBridgePortsRequest(withVlans: boolean): Buffer {
  return buildMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, (w) => {
    encodeIfinfomsg(w, 0, 0, 0, AF_BRIDGE);
    if (withVlans) w.attrU32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN);
  });
}
