/**
 * The agent's domain vocabulary. Engine nodes speak only these types; the
 * edge modules (src/agent/edge/*) translate rtnetlink, OpenFlow and OVSDB
 * objects into and out of them.
 */
import type { LearnAction } from '../lib/openflow/index.js';

export type Family = 4 | 6;

/** One way to reach a MAC: a remote VTEP and its share of the traffic. */
export interface Path {
  vtep: string;
  weight: number;
}

export interface IdRange {
  start: number;
  size: number;
}

/** The fabric settings of a VtepNodeState spec, resolved and defaulted. */
export interface FabricSettings {
  name: string;
  localVtepIP: string;
  family: Family;
  vxlan: {
    /** UDP destination port. */
    port: number;
    /** PerVni: a VXLAN device (and bridge) per VNI; Single: one external vnifilter device on a VLAN-aware bridge. */
    mode: 'PerVni' | 'Single';
    /** PerVni: the VXLAN device of a VNI, e.g. "evpn-{vni}". */
    deviceTemplate: string;
    /** PerVni: the bridge of a VNI, e.g. "evpnbr-{vni}"; empty for none. */
    bridgeTemplate: string;
    /** Single: the one VXLAN device and its bridge. */
    device: string;
    bridge: string;
  };
  ovs: {
    bridge: string;
    tunnelPort: string;
    tableBase: number;
    groupIdRange: IdRange;
    selectionMethod: 'dp_hash' | 'hash';
    /** dp_hash only: hash slots dealt by the agent, or one weighted bucket per VTEP (see hash-slots.ts). */
    bucketLayout: 'slots' | 'weights';
    cookie: bigint;
    cookieMask: bigint;
  };
  kernel: {
    manage: boolean;
    mirrorLearned: boolean;
    protocol: number;
    nexthopIdRange: IdRange;
    /** With manage: local workload MACs become static FDB entries on the VNI's bridge (for an EVPN control plane to advertise). */
    exportLocalMacs: boolean;
  };
}

/** One VtepGroup as it applies to this node. */
export interface SpecGroup {
  name: string;
  generation: number;
  vni: number;
  vteps: Path[];
  macs: string[];
  /** Why the group cannot be applied (its VTEPs failed the per-node checks), if so. */
  invalid?: string;
}

/** A spec without its groups: what arrives with the node's VtepNodeState when the groups come from VtepGroups. */
export interface NodeSettings {
  /** metadata.generation of the VtepNodeState (status.observedGeneration echoes it). */
  generation: number;
  fabric: FabricSettings;
}

export interface NodeSpec extends NodeSettings {
  groups: SpecGroup[];
}

/**
 * Part of a spec (the groups come from VtepGroups, one object each): new
 * settings, groups added or changed, groups gone. What is not named stays.
 */
export interface SpecUpdate {
  settings?: NodeSettings;
  groups?: SpecGroup[];
  removed?: string[];
}

// ---------------------------------------------------------------- kernel

export interface VxlanInfo {
  vni: number;
  port: number;
  /** collect_metadata ("external"): the VNI comes per FDB entry. */
  external: boolean;
  /** IFLA_VXLAN_LOCAL / LOCAL6. */
  local?: string;
  /** An external device whose VNIs are filtered (`bridge vni`). */
  vnifilter?: boolean;
}

export interface KernelLink {
  ifindex: number;
  name: string;
  /** IFLA_INFO_KIND: vxlan, bridge, veth... */
  kind?: string;
  /** IFLA_IFALIAS: the agent marks its own devices here (devices.ts). */
  alias?: string;
  /** The bridge it is a port of. */
  master?: number;
  /** Administratively up (IFF_UP). */
  up?: boolean;
  vxlan?: VxlanInfo;
}

export interface NexthopMember {
  id: number;
  weight: number;
}

export interface KernelNexthop {
  id: number;
  protocol: number;
  /** 0 for groups (AF_UNSPEC). */
  family: Family | 0;
  fdb: boolean;
  gateway?: string;
  /** Present for groups, in the kernel's order. */
  members?: NexthopMember[];
  blackhole?: boolean;
  oif?: number;
}

/** A group's members as the kernel holds them equal the desired ones (sorted by id), in any order. */
export function sameMembers(have: readonly NexthopMember[] | undefined, want: readonly NexthopMember[]): boolean {
  if (!have || have.length !== want.length) return false;
  const sorted = [...have].sort((a, b) => a.id - b.id);
  return sorted.every((m, i) => m.id === want[i]!.id && m.weight === want[i]!.weight);
}

export interface KernelFdbEntry {
  ifindex: number;
  mac: string;
  vlan: number;
  /** NDA_SRC_VNI: on a collect_metadata (single) device, the VNI the entry belongs to (part of its identity). */
  vni?: number;
  nhid?: number;
  dst?: string;
  /** NUD_* */
  state: number;
  /** NTF_*; the bridge's own entries carry NTF_MASTER (set by the edge: see bridgeCopyYields). */
  flags: number;
}

export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;
export const NTF_EXT_LEARNED = 0x10;
export const NUD_NOARP = 0x40;
export const NUD_REACHABLE = 0x02;
export const NUD_PERMANENT = 0x80;
/** What `bridge fdb add ... static` writes: NOARP|REACHABLE. */
export const NUD_STATIC = NUD_NOARP | NUD_REACHABLE;

export const ZERO_MAC = '00:00:00:00:00:00';

/**
 * Identity of a kernel FDB entry: device, MAC, VLAN, and on an external
 * (collect_metadata) device the VNI (NDA_SRC_VNI) — the single VXLAN
 * device holds one entry per MAC and VNI. The all-zeros MAC of a VXLAN device is
 * one kernel entry with a list of remote destinations (vxlan_rdst), but
 * rtnetlink reports and deletes each destination on its own
 * (`bridge fdb append|del 00:00:00:00:00:00 dev D dst IP`), so the flood
 * list is keyed per destination.
 *
 * Built with `join`, which makes one flat string: a `+` concatenation is a
 * rope (V8 ConsString) that stays alive in front of its flattened copy for
 * as long as the key is held (100,000 keys at bench scale).
 */
export function fdbKey(e: { ifindex: number; mac: string; vlan: number; vni?: number | undefined; dst?: string | undefined }): string {
  const parts: Array<string | number> = [e.ifindex, e.mac, e.vlan];
  // On an external (single) device entries are keyed by MAC and VNI.
  if (e.vni !== undefined) parts.push(`v${e.vni}`);
  if (e.mac === ZERO_MAC && e.dst !== undefined) parts.push(e.dst);
  return parts.join('/');
}

/**
 * One key, two kernel entries: FRR's zebra writes a remote MAC with
 * NTF_SELF|NTF_MASTER, and the kernel keeps it twice on the VXLAN device
 * (rtnl_fdb_add, net/core/rtnetlink.c): the device's own entry (NTF_SELF,
 * with its nhid or dst: the one mirrored) and the bridge's copy (`master
 * <bridge>`, neither), both with the key device/MAC/VLAN 0. The bridge's
 * copy never stands in for the device's own: it does not replace it, and
 * its deletion does not remove it. Bridge entries carry NTF_MASTER here (the
 * edge sets it from NDA_MASTER: br_fdb.c's fdb_fill_info sets no flag).
 */
export function bridgeCopyYields(held: Pick<KernelFdbEntry, 'flags'>, incoming: Pick<KernelFdbEntry, 'flags'>): boolean {
  return (incoming.flags & NTF_MASTER) !== 0 && (held.flags & NTF_SELF) !== 0;
}

export function isFloodKey(key: string): boolean {
  return key.includes(`/${ZERO_MAC}/`);
}

// ------------------------------------------------- structural equality
// Field by field, so property order is never part of correctness (an
// object built by the agent and one decoded from the kernel compare equal
// whenever the kernel would hold the same thing).

/** Field by field, in order (a state file re-read or a relist brings 10,000 new objects: this runs for each). */
export function sameSpecGroup(a: SpecGroup, b: SpecGroup): boolean {
  if (a.name !== b.name || a.generation !== b.generation || a.vni !== b.vni || a.invalid !== b.invalid) return false;
  if (a.vteps.length !== b.vteps.length || a.macs.length !== b.macs.length) return false;
  for (let i = 0; i < a.vteps.length; i++) if (a.vteps[i]!.vtep !== b.vteps[i]!.vtep || a.vteps[i]!.weight !== b.vteps[i]!.weight) return false;
  for (let i = 0; i < a.macs.length; i++) if (a.macs[i] !== b.macs[i]) return false;
  return true;
}

export function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function sameLink(a: KernelLink, b: KernelLink): boolean {
  return a.ifindex === b.ifindex && a.name === b.name && a.kind === b.kind && a.alias === b.alias && a.master === b.master && a.up === b.up
    && (a.vxlan === undefined || b.vxlan === undefined ? a.vxlan === b.vxlan
      : a.vxlan.vni === b.vxlan.vni && a.vxlan.port === b.vxlan.port && a.vxlan.external === b.vxlan.external && a.vxlan.local === b.vxlan.local && a.vxlan.vnifilter === b.vxlan.vnifilter);
}

export function sameNexthop(a: KernelNexthop, b: KernelNexthop): boolean {
  return a.id === b.id && a.protocol === b.protocol && a.family === b.family && a.fdb === b.fdb && a.gateway === b.gateway
    && a.blackhole === b.blackhole && a.oif === b.oif
    && (a.members === undefined || b.members === undefined ? a.members === b.members : a.members.length === b.members.length && a.members.every((m, i) => m.id === b.members![i]!.id && m.weight === b.members![i]!.weight));
}

export function sameFdbEntry(a: KernelFdbEntry, b: KernelFdbEntry): boolean {
  return a.ifindex === b.ifindex && a.mac === b.mac && a.vlan === b.vlan && a.vni === b.vni && a.nhid === b.nhid && a.dst === b.dst && a.state === b.state && a.flags === b.flags;
}

export interface KernelSnapshot {
  links: KernelLink[];
  nexthops: KernelNexthop[];
  fdb: KernelFdbEntry[];
}

/** One observed kernel change, as the rtnetlink edge reports it. */
export type KernelEvent =
  | { kind: 'link'; op: 'new' | 'del'; link: KernelLink }
  | { kind: 'nexthop'; op: 'new' | 'del'; nexthop: KernelNexthop }
  | { kind: 'fdb'; op: 'new' | 'del'; entry: KernelFdbEntry };

// ---------------------------------------------------------------- OVS

/** An OVS Interface as the agent cares about it. */
export interface OvsInterface {
  name: string;
  ofport: number;
  /** external_ids:evpn-vni */
  vni?: number;
  /** external_ids:attached-mac (the workload's MAC, as OVN and others record it), lower-case. */
  attachedMac?: string;
  /** external_ids:evpn-export="false": the port's MACs are switched locally but never exported (e.g. an anycast or multihomed service another speaker announces). */
  noExport?: boolean;
  /** Interface:error, when ovs-vswitchd could not create the port. */
  error?: string;
}

/**
 * One bucket of an OpenFlow group, as the agent writes them: it ends in its
 * own output (Open vSwitch restores a packet's registers after a bucket),
 * after setting the tunnel destination when it goes into the fabric.
 */
export interface OfBucket {
  bucketId: number;
  /** Select groups: the bucket's weight; `all` groups: always 1. */
  weight: number;
  /** The remote VTEP (set_field:IP->tun_dst); absent for a bucket to a local port. */
  tunDst?: string;
  outPort: number;
}

/**
 * An OpenFlow group: `select` (one per kernel nexthop group in use: ECMP
 * across VTEPs) or `all` (one per VNI: head-end replication of BUM traffic
 * to the flood VTEPs and the VNI's local ports). See openflow/pipeline.ts.
 */
export interface OfGroup {
  groupId: number;
  type: 'select' | 'all';
  /** Select groups only. */
  selectionMethod?: 'dp_hash' | 'hash';
  buckets: OfBucket[];
  /** Anything found installed that the agent does not write (another type, odd buckets). */
  foreign?: string;
}

export interface OfMatch {
  inPort?: number;
  metadata?: bigint;
  tunId?: bigint;
  ethDst?: string;
}

export type OfAction =
  | { type: 'setTunId'; value: bigint }
  | { type: 'setTunDst'; ip: string }
  | { type: 'group'; groupId: number }
  | { type: 'output'; port: number }
  /** Open vSwitch's learn (the pipeline's MAC learning for ports without attached-mac). */
  | { type: 'learn'; learn: LearnAction }
  /** Anything else found installed (never desired): shown in ovs-ofctl words. */
  | { type: 'other'; text: string };

export interface OfFlow {
  table: number;
  priority: number;
  cookie: bigint;
  match: OfMatch;
  actions: OfAction[];
  writeMetadata?: bigint;
  gotoTable?: number;
  /** Match fields found installed that the agent never writes, in ovs-ofctl words; such a flow is deleted. */
  foreignMatch?: string;
  /** The edge's own representation of an installed flow (exact match for strict deletes). */
  native?: unknown;
}

// ---------------------------------------------------------------- IP helpers

export function ipFamily(ip: string): Family {
  return ip.includes(':') ? 6 : 4;
}
