import { OFPP, type Action, type Instruction } from './actions.js';
import { formatLearn } from './learn.js';
import type { FlowMod, FlowStats } from './flow.js';
import { OFP_DEFAULT_PRIORITY } from './flow.js';
import type { Bucket, GroupDesc, GroupMod, SelectionMethod } from './group.js';
import { ipv4ToBytes, ipv6ToBytes } from './addresses.js';
import { fullMask, OXM_FIELDS, oxmFieldByName, type Match, type OxmFieldDef, type OxmValue } from './oxm.js';

/**
 * Text in ovs-ofctl's vocabulary and spelling (OVS lib/ofp-group.c
 * ofputil_group_format, lib/match.c match_format, lib/ofp-actions.c), so
 * `evpn-ecmp inspect ovs` reads like `ovs-ofctl dump-groups/dump-flows` and
 * tests can compare the two line by line.
 */

const RESERVED_PORTS: Record<number, string> = {
  [OFPP.IN_PORT]: 'IN_PORT',
  [OFPP.TABLE]: 'TABLE',
  [OFPP.NORMAL]: 'NORMAL',
  [OFPP.FLOOD]: 'FLOOD',
  [OFPP.ALL]: 'ALL',
  [OFPP.CONTROLLER]: 'CONTROLLER',
  [OFPP.LOCAL]: 'LOCAL',
  [OFPP.ANY]: 'ANY',
};

export function formatPort(port: number): string {
  return RESERVED_PORTS[port] ?? String(port);
}

function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}

/** A field value as ovs-ofctl prints it: integers in hex (except ports and small enums), addresses as text. */
export function formatOxmValue(d: OxmFieldDef, v: OxmValue): string {
  if (d.key === 'inPort') return formatPort(Number(v));
  if (typeof v === 'string') return v;
  if (d.key === 'ethType') return `0x${Number(v).toString(16).padStart(4, '0')}`;
  if (d.key === 'ipProto' || d.key === 'tcpSrc' || d.key === 'tcpDst' || d.key === 'udpSrc' || d.key === 'udpDst') return String(v);
  return hex(v);
}

/** Prefix length of a contiguous address mask, else undefined. */
function prefixLength(mask: string): number | undefined {
  const bytes = mask.includes(':') ? ipv6ToBytes('mask', mask) : ipv4ToBytes('mask', mask);
  let bits = 0;
  let ended = false;
  for (const b of bytes) {
    for (let i = 7; i >= 0; i--) {
      const set = (b >> i) & 1;
      if (set && ended) return undefined;
      if (set) bits++;
      else ended = true;
    }
  }
  return bits;
}

function formatMasked(d: OxmFieldDef, value: OxmValue, mask: OxmValue | undefined): string {
  if (mask === undefined || mask === fullMask(d)) return formatOxmValue(d, value);
  // OVS prints contiguous IP masks as a prefix length (10.0.0.0/8).
  if ((d.kind === 'ipv4' || d.kind === 'ipv6') && typeof mask === 'string') {
    const len = prefixLength(mask);
    if (len !== undefined) return `${formatOxmValue(d, value)}/${len}`;
  }
  return `${formatOxmValue(d, value)}/${formatOxmValue(d, mask)}`;
}

const ETH_TYPE_NAMES: Record<number, string> = { 0x0800: 'ip', 0x86dd: 'ipv6', 0x0806: 'arp', 0x8035: 'rarp' };
/** ovs-ofctl's protocol shorthands that also imply nw_proto. */
const PROTO_NAMES: Record<number, Record<number, string>> = {
  0x0800: { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' },
  0x86dd: { 58: 'icmp6', 6: 'tcp6', 17: 'udp6', 132: 'sctp6' },
};

// Order of match_format in OVS lib/match.c: protocol shorthand, registers,
// tunnel, metadata, in_port, link layer, dl_type, network, transport.
const MATCH_ORDER = [
  ...Array.from({ length: 16 }, (_, n) => `reg${n}`),
  'tunnelId', 'tunIpv4Src', 'tunIpv4Dst', 'tunIpv6Src', 'tunIpv6Dst',
  'metadata', 'inPort', 'ethSrc', 'ethDst', 'ethType', 'ipv4Src', 'ipv4Dst', 'ipv6Src', 'ipv6Dst', 'ipProto',
  'tcpSrc', 'tcpDst', 'udpSrc', 'udpDst',
];
const fieldByKey = new Map(OXM_FIELDS.map((d) => [d.key as string, d]));
const printOrder = new Map(MATCH_ORDER.map((key, i) => [key, i]));

/** `reg0=0x7,tun_id=0x64,metadata=0x5/0xff,in_port=3,dl_dst=02:00:00:00:00:01` */
export function formatMatch(match: Match): string {
  const m = match as Record<string, OxmValue | { value: OxmValue; mask?: OxmValue } | undefined>;
  const parts: string[] = [];
  const ethType = typeof m.ethType === 'number' ? m.ethType : undefined;
  const ipProto = typeof m.ipProto === 'number' ? m.ipProto : undefined;
  const protoName = ethType !== undefined && ipProto !== undefined ? PROTO_NAMES[ethType]?.[ipProto] : undefined;
  const shorthand = protoName ?? (ethType !== undefined ? ETH_TYPE_NAMES[ethType] : undefined);
  if (shorthand) parts.push(shorthand);
  // Only the fields present (a flow sets a handful of ~40), in print order.
  const keys: string[] = [];
  for (const key in m) if (m[key] !== undefined && printOrder.has(key)) keys.push(key);
  if (keys.length > 1) keys.sort((a, b) => printOrder.get(a)! - printOrder.get(b)!);
  for (const key of keys) {
    const v = m[key]!;
    const d = fieldByKey.get(key);
    if (!d) continue;
    if (key === 'ethType' && shorthand) continue;
    if (key === 'ipProto' && protoName) continue;
    if (typeof v !== 'object') parts.push(`${d.matchName}=${formatOxmValue(d, v)}`);
    else parts.push(`${d.matchName}=${formatMasked(d, v.value, v.mask)}`);
  }
  for (const raw of match.other ?? []) parts.push(`oxm(class=${hex(raw.oxmClass)},field=${raw.field}${raw.hasMask ? ',masked' : ''},${raw.payload})`);
  return parts.join(',');
}

export function formatAction(a: Action): string {
  switch (a.type) {
    case 'output':
      // Reserved ports print bare (LOCAL, IN_PORT), CONTROLLER with its max_len.
      if (a.port === OFPP.CONTROLLER) return `CONTROLLER:${a.maxLen ?? 0}`;
      return a.port > OFPP.MAX ? formatPort(a.port) : `output:${a.port}`;
    case 'group':
      return `group:${a.groupId}`;
    case 'setField': {
      const d = oxmFieldByName(a.field);
      const text = d ? formatMasked(d, a.value, a.mask) : String(a.value);
      return `set_field:${text}->${a.field}`;
    }
    case 'learn':
      return formatLearn(a);
    case 'raw':
      return `raw(type=${a.actionType},${a.body})`;
  }
}

export function formatActions(actions: readonly Action[]): string {
  return actions.length === 0 ? 'drop' : actions.map(formatAction).join(',');
}

export function formatInstructions(instructions: readonly Instruction[]): string {
  const parts: string[] = [];
  for (const ins of instructions) {
    switch (ins.type) {
      case 'applyActions':
        parts.push(...ins.actions.map(formatAction));
        break;
      case 'writeActions':
        parts.push(`write_actions(${ins.actions.map(formatAction).join(',')})`);
        break;
      case 'clearActions':
        parts.push('clear_actions');
        break;
      case 'writeMetadata':
        parts.push(ins.mask === 0xffffffffffffffffn ? `write_metadata:${hex(ins.metadata)}` : `write_metadata:${hex(ins.metadata)}/${hex(ins.mask)}`);
        break;
      case 'gotoTable':
        parts.push(`goto_table:${ins.tableId}`);
        break;
      case 'raw':
        parts.push(`raw_instruction(type=${ins.instructionType},${ins.body})`);
        break;
    }
  }
  return parts.length === 0 ? 'drop' : parts.join(',');
}

export function formatSelectionMethod(sm: SelectionMethod): string {
  let s = `selection_method=${sm.name}`;
  if (sm.param !== undefined && sm.param !== 0n) s += `,selection_method_param=${sm.param}`;
  if (sm.fields && sm.fields.length > 0) {
    s += `,fields(${sm.fields
      .map((f) => {
        const d = oxmFieldByName(f.field);
        return f.mask === undefined || !d || f.mask === fullMask(d) ? f.field : `${f.field}=${formatOxmValue(d, f.mask)}`;
      })
      .join(',')})`;
  }
  return s;
}

export interface GroupFormatOptions {
  /**
   * Print a select bucket's weight even when it is the default, 1, which
   * ovs-ofctl leaves out: for logs and status where every path's weight is
   * what the reader looks for.
   */
  explicitWeights?: boolean;
}

export function formatBucket(b: Bucket, type: GroupDesc['type'], withId = true, opts: GroupFormatOptions = {}): string {
  const parts: string[] = [];
  if (withId && b.bucketId !== undefined) parts.push(`bucket_id:${b.bucketId}`);
  // ovs-ofctl omits a select bucket's weight when it is the default, 1.
  const defaultWeight = type === 'select' ? b.weight === 1 && !opts.explicitWeights : b.weight === 0;
  if (b.weight !== undefined && !defaultWeight) parts.push(`weight:${b.weight}`);
  if (b.watchPort !== undefined && b.watchPort !== OFPP.ANY) parts.push(`watch_port:${formatPort(b.watchPort)}`);
  if (b.watchGroup !== undefined && b.watchGroup !== OFPP.ANY) parts.push(`watch_group:${b.watchGroup}`);
  parts.push(`actions=${formatActions(b.actions)}`);
  return parts.join(',');
}

/** `group_id=1,type=select,selection_method=dp_hash,bucket=bucket_id:0,weight:100,actions=…` */
export function formatGroup(g: Pick<GroupDesc, 'groupId' | 'type' | 'selectionMethod' | 'buckets'>, opts: GroupFormatOptions = {}): string {
  let s = `group_id=${g.groupId},type=${g.type}`;
  if (g.selectionMethod) s += `,${formatSelectionMethod(g.selectionMethod)}`;
  for (const b of g.buckets) s += `,bucket=${formatBucket(b, g.type, true, opts)}`;
  return s;
}

export function formatGroupMod(g: GroupMod): string {
  return `${g.command} ${formatGroup({ groupId: g.groupId, type: g.type ?? 'all', buckets: g.buckets, ...(g.selectionMethod ? { selectionMethod: g.selectionMethod } : {}) })}`;
}

/** `table=10, priority=100,tun_id=0x64,dl_dst=02:00:00:00:00:01 actions=group:1` without counters. */
export function formatFlow(
  f: Pick<FlowStats, 'tableId' | 'priority' | 'match' | 'instructions'> & { cookie?: bigint; idleTimeout?: number; hardTimeout?: number },
): string {
  const head: string[] = [];
  if (f.cookie !== undefined) head.push(`cookie=${hex(f.cookie)}`);
  head.push(`table=${f.tableId}`);
  if (f.idleTimeout) head.push(`idle_timeout=${f.idleTimeout}`);
  if (f.hardTimeout) head.push(`hard_timeout=${f.hardTimeout}`);
  const match = [f.priority !== OFP_DEFAULT_PRIORITY ? `priority=${f.priority}` : '', formatMatch(f.match)].filter(Boolean).join(',');
  return `${head.join(', ')}, ${match ? `${match} ` : ''}actions=${formatInstructions(f.instructions)}`;
}

export function formatFlowMod(f: FlowMod): string {
  const cookie = f.cookieMask ? `cookie=${hex(f.cookie)}/${hex(f.cookieMask)}` : `cookie=${hex(f.cookie)}`;
  const isDelete = f.command === 'delete' || f.command === 'deleteStrict';
  const priority = f.priority ?? (isDelete ? 0 : OFP_DEFAULT_PRIORITY);
  const match = [`priority=${priority}`, formatMatch(f.match)].filter(Boolean).join(',');
  return `${f.command} table=${f.tableId} ${cookie} ${match}${isDelete ? '' : ` actions=${formatInstructions(f.instructions)}`}`;
}
