/**
 * The shapes the operator reads and writes, as DESIGN 3.1 names them.
 *
 * What the operator writes (node specs, VtepGroup and EvpnFabric status) is
 * typed by the API package (src/api), the zod schemas the CRDs are generated
 * from, so a renamed field fails to compile here instead of being pruned by
 * the apiserver. What it reads is typed loosely: fields the schema defaults
 * are optional here, because an object written before a default existed must
 * not crash the operator (fabric-settings.ts fills them in).
 */
import { API_GROUP, API_GROUP_VERSION, API_VERSION as API_VERSION_NAME } from '../api/common.js';
import type { AddressFamily } from '../api/net.js';
import type {
  Condition,
  EvpnFabricStatus,
  KernelSettings,
  LabelSelector,
  NodeGroup,
  OvsSettings,
  VtepGroupStatus,
  VtepNodeStateSpec,
  VxlanSettings,
} from '../api/index.js';

export type { AddressFamily };
export type { Condition, EvpnFabricStatus, KernelSettings, LabelSelector, OvsSettings, VtepGroupStatus, VtepNodeStateSpec, VxlanSettings };
/** One group as rendered into a node's spec. */
export type NodeGroupSpec = NodeGroup;

export const GROUP = API_GROUP;
export const VERSION = API_VERSION_NAME;
/** "evpn.ecmp.dev/v1alpha1" */
export const API_VERSION = API_GROUP_VERSION;
export const FIELD_MANAGER = 'evpn-ecmp-operator';
/** Node annotation holding the VTEP IP when `underlay.localAddressFrom: Annotation`. */
export const VTEP_IP_ANNOTATION = 'evpn.ecmp.dev/vtep-ip';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  deletionTimestamp?: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface IdRange {
  start: number;
  size: number;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface EvpnFabricSpec {
  nodeSelector?: LabelSelector;
  underlay?: { addressFamily?: AddressFamily; localAddressFrom?: 'InternalIP' | 'Annotation' };
  vxlan?: Partial<VxlanSettings>;
  ovs?: DeepPartial<OvsSettings>;
  kernel?: DeepPartial<KernelSettings>;
}

export interface EvpnFabric {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: EvpnFabricSpec;
  status?: EvpnFabricStatus;
}

export interface Vtep {
  ip: string;
  weight?: number;
}

export interface VtepGroupSpec {
  fabric: string;
  vni: number;
  vteps: Vtep[];
  macs: string[];
  nodeSelector?: LabelSelector;
}

export interface VtepGroup {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: VtepGroupSpec;
  status?: VtepGroupStatus;
}

export interface NodeGroupStatus {
  name: string;
  vni?: number;
  appliedGeneration?: number;
  state?: 'Programmed' | 'Pending' | 'Invalid';
  message?: string;
}

export interface VtepNodeStateStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  groups?: NodeGroupStatus[];
  /** Stamped by the agent on each status write (the operator reads a change as a sign of life). */
  lastReportTime?: string;
}

export interface VtepNodeState {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: VtepNodeStateSpec;
  status?: VtepNodeStateStatus;
}

export interface NodeAddress {
  type: string;
  address: string;
}

/** The parts of a core/v1 Node the operator reads. */
export interface Node {
  metadata: ObjectMeta;
  status?: { addresses?: NodeAddress[] };
}
