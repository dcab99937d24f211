/**
 * The agent's two edges to the world. src/agent/edge/* implements them on
 * top of src/lib/rtnetlink, src/lib/openflow and src/lib/ovsdb; tests may
 * implement them in memory (modelling the kernel and Open vSwitch, never
 * reusing the agent's own translation).
 *
 * The kernel edge speaks the agent's domain (KernelOp in, KernelEvent out).
 * The OVS edge speaks OpenFlow messages (src/lib/openflow): what they mean
 * is the pipeline's (openflow/pipeline.ts) to say.
 */
import type { BundleSource, FlowStats, GroupDesc } from '../lib/openflow/index.js';
import type { KernelEvent, KernelFdbEntry, KernelLink, KernelNexthop, OvsInterface } from './model.js';
import type { DeviceOp } from './sync/device-plan.js';
import type { KernelOp } from './sync/kernel-plan.js';

/** Observed kernel changes, or the news that some were lost (ENOBUFS, malformed). */
export type KernelNews = KernelEvent | { kind: 'resync'; reason: string };

/** Part of a dump as it arrives: the links whole (first), then nexthops and FDB entries a datagram at a time. */
export interface KernelDumpBatch {
  links?: KernelLink[];
  nexthops?: KernelNexthop[];
  fdb?: KernelFdbEntry[];
}

export interface KernelPort {
  /** Subscribes to links, neighbours and nexthops: from then on every change is queued (drain), during dumps too. */
  start(): Promise<void>;
  /**
   * Dumps links, then nexthops, then FDB entries, handing each part over as
   * it arrives while notifications keep queuing. A dump is a walk, not a
   * snapshot: under churn it may repeat an object, and Linux 6.18's VXLAN
   * FDB dump also skips entries that exist all along (it resumes each
   * datagram at a position in a list that deletions shift, and flags
   * nothing), so absence from a dump proves nothing: see `missing`.
   */
  dump(onBatch: (batch: KernelDumpBatch) => void): Promise<void>;
  /**
   * Of these nexthop ids and FDB entries, those the kernel does not hold now,
   * by one lookup each (RTM_GETNEXTHOP, RTM_GETNEIGH). A flood-list entry
   * (all-zeros MAC, one per destination) is reported missing only when the
   * device has no flood list at all: a lookup shows one destination.
   */
  missing(nexthops: readonly number[], fdb: readonly KernelFdbEntry[]): Promise<{ nexthops: number[]; fdb: KernelFdbEntry[] }>;
  /** Everything queued now. */
  drain(): KernelNews[];
  /** Resolves when news is queued. */
  waitForNews(): Promise<void>;
  /** One write, acknowledged by the kernel; rejects with the kernel's reason. */
  apply(op: KernelOp, protocol: number): Promise<void>;
  /** One device write (create with its setup, configure, delete, VNI filter, VLANs); rejects with the kernel's reason. */
  applyDevice(op: DeviceOp): Promise<void>;
  /** The links now (after device writes, whose results the plan needs before the next step). */
  links(): Promise<KernelLink[]>;
  close(): void;
}

/** Which bridge, and its flow-based VXLAN tunnel port. */
export interface BridgeSettings {
  bridge: string;
  tunnelPort: string;
  /** UDP destination port of the tunnel. */
  vxlanPort: number;
}

export interface OvsPort {
  /** Connects OpenFlow (`<bridge>.mgmt`) and OVSDB (again); rejects when either is unreachable. */
  connect(bridge: string): Promise<void>;
  /** The flow-based VXLAN tunnel port exists with the right options (OVSDB). */
  ensureTunnelPort(settings: BridgeSettings): Promise<void>;
  /** The bridge's interfaces now; `onInterfaces` reports every later change. */
  interfaces(): Promise<OvsInterface[]>;
  onInterfaces(cb: (interfaces: OvsInterface[]) => void): void;
  /** Called once per lost connection (OpenFlow or OVSDB). */
  onDisconnect(cb: (reason: string) => void): void;
  /** Every group of the bridge (GROUP_DESC). */
  dumpGroups(): Promise<GroupDesc[]>;
  /** The flows whose cookie equals `cookie` under `cookieMask` (FLOW_STATS). */
  dumpFlows(cookie: bigint, cookieMask: bigint): Promise<FlowStats[]>;
  /** The messages as one ordered, atomic bundle, confirmed by a barrier. */
  commit(messages: BundleSource): Promise<void>;
  close(): void;
}
