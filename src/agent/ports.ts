/**
 * The agent's two edges to the world, in domain terms. src/agent/edge/*
 * implements them on top of src/lib/rtnetlink, src/lib/openflow and
 * src/lib/ovsdb; tests may implement them in memory.
 */
import type { FloodGroup, KernelEvent, KernelSnapshot, OvsInterface } from './model.js';
import type { FloodPlan } from './sync/flood-plan.js';
import type { KernelOp } from './sync/kernel-plan.js';
import type { OfChange, OfState } from './sync/of-plan.js';

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
  close(): void;
}

/** What the agent reads back from the bridge after a (re)connect or for an audit. */
export interface OvsInstalled extends OfState {
  /** kernel nhid → OpenFlow group id, recovered from our ECMP flows' cookies. */
  adopted: Map<number, number>;
  /** The `all` groups in our range, read as flood groups (VNI from the flood flow naming them, 0 if none). */
  flood: Map<number, FloodGroup>;
  /** VNI → flood group id, recovered from the VNIs' flood flows (table T+1, FLOOD_PRIORITY). */
  adoptedFlood: Map<number, number>;
}

export interface OvsSettingsForPort {
  bridge: string;
  tunnelPort: string;
  vxlanPort: number;
  tableBase: number;
  groupIdRange: { start: number; size: number };
  cookie: bigint;
  cookieMask: bigint;
}

export interface OvsPort {
  /** Connects OpenFlow and OVSDB (again); rejects when either is unreachable. */
  connect(settings: OvsSettingsForPort): Promise<void>;
  /** The flow-based VXLAN tunnel port exists with the right options (OVSDB). */
  ensureTunnelPort(settings: OvsSettingsForPort): Promise<void>;
  /** The bridge's interfaces now; `onInterfaces` reports every later change. */
  interfaces(): Promise<OvsInterface[]>;
  onInterfaces(cb: (interfaces: OvsInterface[]) => void): void;
  /** Called once per lost connection (OpenFlow or OVSDB). */
  onDisconnect(cb: (reason: string) => void): void;
  /** Our groups (inside the range: select groups, and `all` groups as flood groups) and flows (matching the cookie). */
  readInstalled(settings: OvsSettingsForPort): Promise<OvsInstalled>;
  /**
   * The changes as one ordered, atomic bundle, confirmed by a barrier:
   * flood groups the flows will name first, flood groups no flow names
   * any more last.
   */
  commit(changes: readonly OfChange[], settings: OvsSettingsForPort, flood?: FloodPlan): Promise<void>;
  close(): void;
}
