/**
 * The agent's domain vocabulary. Engine nodes speak only these types; the
 * edge modules (src/agent/edge/*) translate rtnetlink, OpenFlow and OVSDB
 * objects into and out of them.
 */

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
  vxlanPort: number;
  /** Kernel VXLAN device per VNI, e.g. "evpn-{vni}". */
  deviceTemplate: string;
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

export interface NodeSpec {
  generation: number;
  fabric: FabricSettings;
  groups: SpecGroup[];
}

// ---------------------------------------------------------------- kernel

export interface VxlanInfo {
  vni: number;
  port: number;
  /** collect_metadata ("external"): the VNI comes per FDB entry. */
  external: boolean;
}

export interface KernelLink {
  ifindex: number;
  name: string;
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

export interface KernelFdbEntry {
  ifindex: number;
  mac: string;
  vlan: number;
  /** NDA_VNI / NDA_SRC_VNI, for collect_metadata devices. */
  vni?: number;
  nhid?: number;
  dst?: string;
  /** NUD_* */
  state: number;
  /** NTF_* */
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
 * Identity of a kernel FDB entry. The all-zeros MAC of a VXLAN device is
 * one kernel entry with a list of remote destinations (vxlan_rdst), but
 * rtnetlink reports and deletes each destination on its own
 * (`bridge fdb append|del 00:00:00:00:00:00 dev D dst IP`), so the flood
 * list is keyed per destination.
 */
export function fdbKey(e: { ifindex: number; mac: string; vlan: number; dst?: string | undefined }): string {
  const base = `${e.ifindex}/${e.mac}/${e.vlan}`;
  return flatKey(e.mac === ZERO_MAC && e.dst !== undefined ? `${base}/${e.dst}` : base);
}

/**
 * The same text as one flat string, for strings kept as map keys. V8 builds
 * a concatenation as a rope (ConsString) and flattens it in place the first
 * time it is compared, after which the 32-byte rope stays alive in front of
 * the flat copy for as long as the key does: 6 MiB for the 100,000 FDB keys
 * and 100,000 flow keys of the bench scale. `toLowerCase` returns a fresh
 * flat string, used only when it equals the text (keys are lower-case hex
 * and digits; anything else is returned as it is).
 */
export function flatKey(text: string): string {
  const flat = text.toLowerCase();
  return flat === text ? flat : text;
}

export function isFloodKey(key: string): boolean {
  return key.includes(`/${ZERO_MAC}/`);
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
  /** Interface:error, when ovs-vswitchd could not create the port. */
  error?: string;
}

export interface OfBucket {
  bucketId: number;
  weight: number;
  tunDst: string;
  outPort: number;
}

export interface OfGroup {
  groupId: number;
  /** Anything found installed that the agent does not write (another type, odd buckets). */
  foreign?: string;
  selectionMethod: 'dp_hash' | 'hash';
  buckets: OfBucket[];
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

/**
 * A VNI's flood group (OpenFlow type `all`, head-end replication): one
 * bucket per remote VTEP of the flood list (set tun_dst, output to the
 * tunnel port; the flow sets tun_id before the group) and one per local
 * port of the VNI (output). Bucket ids: the VTEPs first, then the ports,
 * both in sorted order.
 */
export interface FloodGroup {
  groupId: number;
  vni: number;
  vteps: string[];
  tunnelPort: number;
  ports: number[];
  /** Anything found installed that the agent does not write. */
  foreign?: string;
}

// ---------------------------------------------------------------- IP helpers

export function ipFamily(ip: string): Family {
  return ip.includes(':') ? 6 : 4;
}
