/**
 * The shapes the operator reads and writes, as DESIGN 3.1 names them. Only
 * what the operator needs is typed; everything arrives from the apiserver
 * already validated by the CRD schemas, so fields the schema defaults are
 * still treated as optional here (an older CRD without a default must not
 * crash the operator).
 */

export const GROUP = 'evpn.ecmp.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const FIELD_MANAGER = 'evpn-ecmp-operator';
/** Node annotation holding the VTEP IP when `underlay.localAddressFrom: Annotation`. */
export const VTEP_IP_ANNOTATION = 'evpn.ecmp.dev/vtep-ip';

export type AddressFamily = 'IPv4' | 'IPv6';

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

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface IdRange {
  start: number;
  size: number;
}

export interface VxlanSettings {
  port: number;
  deviceTemplate: string;
}

export interface OvsSettings {
  bridge: string;
  tunnelPort: string;
  tableBase: number;
  groupIdRange: IdRange;
  selectionMethod: 'dp_hash' | 'hash';
  cookie: string;
  cookieMask: string;
}

export interface KernelSettings {
  manage: boolean;
  mirrorLearned: boolean;
  protocol: number;
  nexthopIdRange: IdRange;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface EvpnFabricSpec {
  nodeSelector?: LabelSelector;
  underlay?: { addressFamily?: AddressFamily; localAddressFrom?: 'InternalIP' | 'Annotation' };
  vxlan?: Partial<VxlanSettings>;
  ovs?: DeepPartial<OvsSettings>;
  kernel?: DeepPartial<KernelSettings>;
}

export interface EvpnFabricStatus {
  observedGeneration?: number;
  /** Nodes the fabric selects (including those it cannot serve). */
  nodesTotal?: number;
  nodesReady?: number;
  /** "ready/total", for the READY printer column. */
  ready?: string;
  conditions?: Condition[];
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

export interface VtepGroupStatus {
  observedGeneration?: number;
  nodesReady?: number;
  nodesTotal?: number;
  /** "ready/total", for the READY printer column. */
  ready?: string;
  /** For the VTEPS and MACS printer columns. */
  vtepCount?: number;
  macCount?: number;
  conditions?: Condition[];
}

export interface VtepGroup {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: VtepGroupSpec;
  status?: VtepGroupStatus;
}

/** One group as rendered into a node's spec. */
export interface NodeGroupSpec {
  name: string;
  generation: number;
  vni: number;
  vteps: Array<{ ip: string; weight: number }>;
  macs: string[];
}

export interface VtepNodeStateSpec {
  fabric: string;
  localVtepIP: string;
  vxlan: VxlanSettings;
  ovs: OvsSettings;
  kernel: KernelSettings;
  groups: NodeGroupSpec[];
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
