/**
 * Whether a node's rendered VtepNodeState fits in etcd.
 *
 * etcd refuses a write larger than its `--max-request-bytes` (1.5 MiB by
 * default), and the apiserver stores a custom resource as JSON with more
 * than its spec: `managedFields` (server-side apply lists every set member
 * and map key it owns: each MAC appears twice, once in spec and once as
 * `"v:\"02:..\"":{}`) and the agent's status (an entry per group, with its
 * own managedFields). The operator used to find out from the refusal, and
 * requeue forever; now it estimates the stored size before writing and
 * reports `SpecTooLarge` instead (on the node, its fabric and the groups
 * the node carries), keeping the node's previous spec.
 *
 * The estimate errs high (checked against a real kube-apiserver in
 * test/integration/operator/spec-size.test.ts) and the budget leaves a
 * quarter MiB of etcd's limit for what it cannot see (status messages,
 * conditions, etcd's own framing).
 *
 * Self-contained on purpose: if agents come to read VtepGroups themselves,
 * the same check applies to whatever object carries a node's groups.
 */
import type { VtepNodeStateSpec } from './model.js';

/** etcd's default --max-request-bytes. */
export const ETCD_REQUEST_LIMIT = 1.5 * 1024 * 1024;
/** What the estimated stored object may reach. */
export const STORED_SIZE_BUDGET = ETCD_REQUEST_LIMIT - 256 * 1024;

/**
 * What does not grow with the groups: metadata the apiserver adds (uid,
 * resourceVersion, timestamps, owner reference, both managers' entries) and
 * the status's conditions, summary and learned counts with their
 * managedFields (~4.5 KiB measured with short messages).
 */
const FIXED_OVERHEAD = 6000;
/**
 * Per group in status: the entry (`appliedGeneration`, ids, `macs`, `state`,
 * an empty `message`, `droppedPaths` naming the node's own VTEP) and its
 * managedFields entry, without the name (counted twice on its own) and
 * paths. 321 bytes measured without `droppedPaths`; a Pending or Invalid
 * message adds its length.
 */
const STATUS_PER_GROUP = 400;
/** Per path in a status entry: `{"slots":256,"vtep":,"weight":256},` without the IP. */
const STATUS_PER_PATH = 40;
/** Per VNI: a status `flood` entry and a `local` entry, with their managedFields entries. */
const STATUS_PER_VNI = 240;

export interface SpecTooLarge {
  node: string;
  /** Estimated bytes of the stored object. */
  bytes: number;
  budget: number;
  /** Groups of the node, largest contribution first. */
  groups: Array<{ name: string; bytes: number }>;
}

/** Bytes of `value` as JSON, quotes and escapes included. */
function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** `"k:{\"name\":\"web\"}":` / `"v:\"02:..\"":` — a key of managedFields naming a map entry or set member. */
function fieldKeyBytes(key: string): number {
  return jsonBytes(key) + 1;
}

/** managedFields of an object of scalars and nested objects: every field as `"f:<name>":{}`. */
function objectFieldSetBytes(value: unknown): number {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 2;
  let n = 2;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) n += fieldKeyBytes(`f:${k}`) + objectFieldSetBytes(v) + 1;
  return n;
}

/** The stored bytes one group costs: its spec entry, its managedFields, its status entry (with managedFields). */
function groupBytes(g: VtepNodeStateSpec['groups'][number]): number {
  const spec = jsonBytes(g) + 1;
  // "k:{\"name\":\"web\"}":{".":{},"f:generation":{},"f:macs":{...},"f:name":{},"f:vni":{},"f:vteps":{...}}
  let fields = fieldKeyBytes(`k:${JSON.stringify({ name: g.name })}`) + 80;
  for (const mac of g.macs) fields += fieldKeyBytes(`v:${JSON.stringify(mac)}`) + 3;
  for (const v of g.vteps) fields += fieldKeyBytes(`k:${JSON.stringify({ ip: v.ip })}`) + 36;
  let status = STATUS_PER_GROUP + 2 * jsonBytes(g.name);
  for (const v of g.vteps) status += STATUS_PER_PATH + jsonBytes(v.ip);
  return spec + fields + status;
}

/** Estimated bytes of node `node`'s VtepNodeState as etcd will store it, spec, status and managedFields included. */
export function estimateStoredBytes(node: string, spec: VtepNodeStateSpec): { bytes: number; groups: Array<{ name: string; bytes: number }> } {
  const { groups, ...settings } = spec;
  const vnis = new Set(groups.map((g) => g.vni)).size;
  let bytes = FIXED_OVERHEAD + 2 * jsonBytes(node) + jsonBytes(settings) + objectFieldSetBytes(settings) + vnis * STATUS_PER_VNI;
  const perGroup = groups.map((g) => ({ name: g.name, bytes: groupBytes(g) }));
  for (const g of perGroup) bytes += g.bytes;
  return { bytes, groups: perGroup.sort((a, b) => b.bytes - a.bytes) };
}

/** SpecTooLarge for `node` when its rendered spec would not fit, else undefined. */
export function checkSpecSize(node: string, spec: VtepNodeStateSpec, budget = STORED_SIZE_BUDGET): SpecTooLarge | undefined {
  const { bytes, groups } = estimateStoredBytes(node, spec);
  return bytes <= budget ? undefined : { node, bytes, budget, groups };
}

/** One line for conditions and Events: the node, the size against the budget, and the largest groups. */
export function describeSpecTooLarge(p: SpecTooLarge, max = 3): string {
  const kib = (n: number) => `${Math.ceil(n / 1024)} KiB`;
  const largest = p.groups.slice(0, max).map((g) => `${g.name} (${kib(g.bytes)})`);
  const more = p.groups.length > max ? ` and ${p.groups.length - max} more` : '';
  return `node ${p.node}'s VtepNodeState would take ~${kib(p.bytes)} in etcd, over the ${kib(p.budget)} it allows; largest groups: ${largest.join(', ')}${more}; the node keeps its previous spec`;
}
