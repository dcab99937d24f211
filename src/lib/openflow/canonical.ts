import type { Action, Instruction } from './actions.js';
import type { FlowStats } from './flow.js';
import { OFP_DEFAULT_PRIORITY } from './flow.js';
import { formatGroup, formatMatch } from './format.js';
import type { Bucket, GroupDesc, GroupType, SelectionMethod } from './group.js';
import { ipv4FromBytes, ipv4ToBytes, ipv6FromBytes, ipv6ToBytes, macFromBytes, macToBytes } from './addresses.js';
import { fullMask, OXM_FIELDS, oxmFieldByKey, oxmFieldByName, splitMasked, type Match, type MatchKey, type OxmFieldDef, type OxmValue } from './oxm.js';

/**
 * Canonical forms, so "what we want" and "what the switch reports" compare
 * equal exactly when Open vSwitch would treat them the same: defaults made
 * explicit (select weight 1, bucket id = position), all-ones masks dropped,
 * value bits outside the mask cleared, addresses spelt one way. The agent
 * diffs desired against installed state with these after (re)connecting and
 * sends only the difference.
 */

/** xx:xx:xx:xx:xx:xx in lowercase: already the spelling canonValue would produce. */
const CANONICAL_MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

function canonValue(d: OxmFieldDef, v: OxmValue): OxmValue {
  switch (d.kind) {
    case 'u64':
      return typeof v === 'bigint' ? v : BigInt(v);
    case 'mac':
      // Fast path: desired state holds 100k MACs already spelt this way.
      if (typeof v === 'string' && CANONICAL_MAC.test(v)) return v;
      return macFromBytes(macToBytes(d.name, String(v)));
    case 'ipv4':
      return ipv4FromBytes(ipv4ToBytes(d.name, String(v)));
    case 'ipv6':
      return ipv6FromBytes(ipv6ToBytes(d.name, String(v)));
    default:
      return Number(v);
  }
}

function applyMask(d: OxmFieldDef, value: OxmValue, mask: OxmValue): OxmValue {
  switch (d.kind) {
    case 'u64':
      return BigInt(value) & BigInt(mask);
    case 'mac':
    case 'ipv4':
    case 'ipv6': {
      const enc = d.kind === 'mac' ? macToBytes : d.kind === 'ipv4' ? ipv4ToBytes : ipv6ToBytes;
      const dec = d.kind === 'mac' ? macFromBytes : d.kind === 'ipv4' ? ipv4FromBytes : ipv6FromBytes;
      const v = enc(d.name, String(value));
      const m = enc(d.name, String(mask));
      return dec(v.map((b, i) => b & m[i]!));
    }
    default:
      return (Number(value) & Number(mask)) >>> 0;
  }
}

function canonMasked(d: OxmFieldDef, raw: OxmValue | { value: OxmValue; mask?: OxmValue }): OxmValue | { value: OxmValue; mask: OxmValue } {
  if (typeof raw !== 'object') return canonValue(d, raw);
  const { value, mask } = splitMasked(raw);
  const v = canonValue(d, value);
  if (mask === undefined) return v;
  const m = canonValue(d, mask);
  if (m === fullMask(d)) return v;
  return { value: applyMask(d, v, m), mask: m };
}

export function canonicalMatch(match: Match): Match {
  const out: Record<string, unknown> = {};
  const m = match as Record<string, OxmValue | { value: OxmValue; mask?: OxmValue } | undefined>;
  // Only the fields present, in OXM table order (a flow sets a handful of them).
  const present: OxmFieldDef[] = [];
  for (const key in m) {
    const d = m[key] !== undefined ? oxmFieldByKey(key as MatchKey) : undefined;
    if (d) present.push(d);
  }
  if (present.length > 1) present.sort((a, b) => OXM_FIELDS.indexOf(a) - OXM_FIELDS.indexOf(b));
  for (const d of present) out[d.key] = canonMasked(d, m[d.key]!);
  if (match.other && match.other.length > 0) out.other = match.other.map((o) => ({ ...o, payload: o.payload.toLowerCase() }));
  return out;
}

export function canonicalAction(a: Action): Action {
  if (a.type === 'output') return a.maxLen ? { type: 'output', port: a.port, maxLen: a.maxLen } : { type: 'output', port: a.port };
  if (a.type !== 'setField') return { ...a };
  const d = oxmFieldByName(a.field);
  if (!d) return { ...a };
  const c = canonMasked(d, a.mask === undefined ? a.value : { value: a.value, mask: a.mask });
  return typeof c === 'object' ? { type: 'setField', field: a.field, value: c.value, mask: c.mask } : { type: 'setField', field: a.field, value: c };
}

export function canonicalInstructions(ins: readonly Instruction[]): Instruction[] {
  return ins.map((i) => (i.type === 'applyActions' || i.type === 'writeActions' ? { type: i.type, actions: i.actions.map(canonicalAction) } : { ...i }));
}

function canonicalSelectionMethod(sm: SelectionMethod | undefined): SelectionMethod | undefined {
  if (!sm) return undefined;
  const out: SelectionMethod = { name: sm.name };
  if (sm.param) out.param = sm.param;
  if (sm.fields && sm.fields.length > 0) {
    out.fields = sm.fields.map((f) => {
      const d = oxmFieldByName(f.field);
      if (!d || f.mask === undefined) return { field: f.field };
      const m = canonValue(d, f.mask);
      return m === fullMask(d) ? { field: f.field } : { field: f.field, mask: m };
    });
  }
  return out;
}

export function canonicalBucket(b: Bucket, index: number, type: GroupType): Bucket {
  const out: Bucket = { bucketId: b.bucketId ?? index, actions: b.actions.map(canonicalAction) };
  // A select bucket without WEIGHT has weight 1 in OVS; other group types have none.
  if (type === 'select') out.weight = b.weight ?? 1;
  else if (b.weight) out.weight = b.weight;
  if (b.watchPort !== undefined && b.watchPort !== 0xffffffff) out.watchPort = b.watchPort;
  if (b.watchGroup !== undefined && b.watchGroup !== 0xffffffff) out.watchGroup = b.watchGroup;
  if (b.properties && b.properties.length > 0) out.properties = b.properties;
  return out;
}

/** A group reduced to what OVS keeps: compare two of these with `groupKey`. */
export function canonicalGroup(g: Pick<GroupDesc, 'groupId' | 'buckets' | 'selectionMethod'> & { type?: GroupType }): GroupDesc {
  const type = g.type ?? 'all';
  const out: GroupDesc = { groupId: g.groupId, type, buckets: g.buckets.map((b, i) => canonicalBucket(b, i, type)) };
  const sm = canonicalSelectionMethod(g.selectionMethod);
  if (sm) out.selectionMethod = sm;
  return out;
}

/** Text that is equal for two groups exactly when OVS holds the same group. */
export function groupKey(g: Pick<GroupDesc, 'groupId' | 'buckets' | 'selectionMethod'> & { type?: GroupType }): string {
  return formatGroup(canonicalGroup(g));
}

type FlowLike = Pick<FlowStats, 'tableId' | 'match' | 'instructions'> & { priority?: number; cookie: bigint };

/** What identifies a flow in OVS: table, priority and match (as a strict modify/delete names it). */
export function flowIdentity(f: FlowLike): string {
  const match = formatMatch(canonicalMatch(f.match));
  return `table=${f.tableId},priority=${f.priority ?? OFP_DEFAULT_PRIORITY}${match ? `,${match}` : ''}`;
}
