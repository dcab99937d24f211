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
import type { KernelEvent, KernelLink, KernelSnapshot, OvsInterface } from './model.js';
import type { DeviceOp } from './sync/device-plan.js';
import type { KernelOp } from './sync/kernel-plan.js';

/** Observed kernel changes, or the news that some were lost (ENOBUFS, malformed). */
export type KernelNews = KernelEvent | { kind: 'resync'; reason: string };

export interface KernelPort {
  /**
   * Subscribes to links, neighbours and nexthops, then dumps them: events
   * that arrive during the dump stay queued and are replayed after it.
   */
  start(): Promise<KernelSnapshot>;
  /** A fresh dump (after a loss), with the same queuing. */
  dump(): Promise<KernelSnapshot>;
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
