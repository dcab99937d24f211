/**
 * Translation between the agent's OpenFlow objects (model.ts: OfGroup,
 * OfFlow) and src/lib/openflow's messages. Installed objects that do not
 * have the agent's shape are kept with a `foreign` / `other` mark, so the
 * sync modifies or deletes them instead of misreading them.
 */
import { OFPG, OFPP, type Action, type BundleMessage, type BundleSource, type FlowMod, type FlowStats, type GroupDesc, type Instruction, type Match, type SelectionMethod } from '../../lib/openflow/index.js';
import type { OfAction, OfFlow, OfGroup, OfMatch } from '../model.js';
import type { OfChange } from '../sync/of-plan.js';

export interface CookieSettings {
  cookie: bigint;
  cookieMask: bigint;
}

// ------------------------------------------------------------ to the switch

export function toLibAction(a: OfAction): Action {
  switch (a.type) {
    case 'setTunId':
      return { type: 'setField', field: 'tun_id', value: a.value };
    case 'setTunDst':
      return { type: 'setField', field: a.ip.includes(':') ? 'tun_ipv6_dst' : 'tun_dst', value: a.ip };
    case 'group':
      return { type: 'group', groupId: a.groupId };
    case 'output':
      return { type: 'output', port: a.port };
    case 'other':
      throw new Error(`cannot write a foreign action (${a.text})`);
  }
}

export function toLibMatch(m: OfMatch): Match {
  const match: Match = {};
  if (m.inPort !== undefined) match.inPort = m.inPort;
  if (m.tunId !== undefined) match.tunnelId = m.tunId;
  if (m.metadata !== undefined) match.metadata = m.metadata;
  if (m.ethDst !== undefined) match.ethDst = m.ethDst;
  return match;
}

function instructionsOf(f: OfFlow): Instruction[] {
  const out: Instruction[] = [];
  if (f.actions.length > 0) out.push({ type: 'applyActions', actions: f.actions.map(toLibAction) });
  if (f.writeMetadata !== undefined) out.push({ type: 'writeMetadata', metadata: f.writeMetadata, mask: 0xffffffffffffffffn });
  if (f.gotoTable !== undefined) out.push({ type: 'gotoTable', tableId: f.gotoTable });
  return out;
}

/**
 * The fields `selection_method=hash` hashes over. Open vSwitch hashes exactly
 * the listed fields (skipping those whose prerequisites a packet lacks); with
 * none listed, every flow hashes alike and takes the first bucket (seen on
 * OVS 3.1 with traffic: the "default fields" of ovs-ofctl(8) apply only when
 * no selection method is given).
 */
const HASH_FIELDS = ['eth_src', 'eth_dst', 'eth_type', 'ip_proto', 'ip_src', 'ip_dst', 'ipv6_src', 'ipv6_dst', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst'];

function selectionMethodOf(name: OfGroup['selectionMethod']): SelectionMethod {
  return name === 'hash' ? { name, fields: HASH_FIELDS.map((field) => ({ field })) } : { name };
}

/** One bundle message per change, in the plan's order. */
export function toBundleMessages(changes: readonly OfChange[], cookies: CookieSettings): BundleMessage[] {
  return changes.map((c) => toBundleMessage(c, cookies));
}

/** The same messages, each built only when the client encodes it (see BundleSource). */
export function bundleSource(changes: readonly OfChange[], cookies: CookieSettings): BundleSource {
  return { length: changes.length, at: (i) => (i < changes.length ? toBundleMessage(changes[i]!, cookies) : undefined) };
}

export function toBundleMessage(c: OfChange, cookies: CookieSettings): BundleMessage {
  if (c.kind === 'group') {
    const g = c.group;
    if (c.command === 'delete') return { type: 'groupMod', groupMod: { command: 'delete', type: 'select', groupId: g.groupId, buckets: [] } };
    return {
      type: 'groupMod',
      groupMod: {
        command: c.command,
        type: 'select',
        groupId: g.groupId,
        selectionMethod: selectionMethodOf(g.selectionMethod),
        buckets: g.buckets.map((b) => ({
          bucketId: b.bucketId,
          weight: b.weight,
          // Each bucket ends in its own output (OVS restores registers after a bucket).
          actions: [toLibAction({ type: 'setTunDst', ip: b.tunDst }), { type: 'output', port: b.outPort }],
        })),
      },
    };
  }
  const f = c.flow;
  if (c.command === 'deleteStrict') {
    const native = f.native as FlowStats | undefined;
    const flowMod: FlowMod = {
      command: 'deleteStrict',
      tableId: f.table,
      priority: f.priority,
      // Only our flows: cookie & mask must equal the fabric's cookie.
      cookie: cookies.cookie,
      cookieMask: cookies.cookieMask,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      match: native?.match ?? toLibMatch(f.match),
      instructions: [],
    };
    return { type: 'flowMod', flowMod };
  }
  const flowMod: FlowMod = {
    command: c.command,
    tableId: f.table,
    priority: f.priority,
    cookie: f.cookie,
    match: toLibMatch(f.match),
    instructions: instructionsOf(f),
  };
  // MODIFY_STRICT restricted to our cookie, so a flow of another
  // controller with the same match and priority is never rewritten.
  if (c.command === 'modifyStrict') flowMod.cookieMask = cookies.cookieMask;
  return { type: 'flowMod', flowMod };
}

// ---------------------------------------------------------- from the switch

function fromLibAction(a: Action): OfAction {
  if (a.type === 'output') return { type: 'output', port: a.port };
  if (a.type === 'group') return { type: 'group', groupId: a.groupId };
  if (a.type === 'setField' && a.mask === undefined) {
    if (a.field === 'tun_id' && typeof a.value === 'bigint') return { type: 'setTunId', value: a.value };
    if ((a.field === 'tun_dst' || a.field === 'tun_ipv6_dst') && typeof a.value === 'string') return { type: 'setTunDst', ip: a.value };
  }
  return { type: 'other', text: JSON.stringify(a, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)) };
}

export function fromGroupDesc(g: GroupDesc): OfGroup {
  const foreign: string[] = [];
  if (g.type !== 'select') foreign.push(`type=${g.type}`);
  const buckets = g.buckets.map((b, i) => {
    const actions = b.actions.map(fromLibAction);
    const dst = actions[0]?.type === 'setTunDst' ? actions[0].ip : undefined;
    const out = actions[1]?.type === 'output' ? actions[1].port : undefined;
    if (actions.length !== 2 || dst === undefined || out === undefined) foreign.push(`bucket${i}=${actions.map((a) => (a.type === 'other' ? a.text : a.type)).join('+')}`);
    return { bucketId: b.bucketId ?? i, weight: b.weight ?? 1, tunDst: dst ?? '', outPort: out ?? -1 };
  });
  const method = g.selectionMethod?.name === 'hash' ? 'hash' : 'dp_hash';
  if (g.selectionMethod && g.selectionMethod.name !== 'hash' && g.selectionMethod.name !== 'dp_hash') foreign.push(`selection_method=${g.selectionMethod.name}`);
  return { groupId: g.groupId, selectionMethod: method, buckets, ...(foreign.length ? { foreign: foreign.join(',') } : {}) };
}

export function fromFlowStats(f: FlowStats): OfFlow {
  const match: OfMatch = {};
  const foreign: string[] = [];
  for (const [key, value] of Object.entries(f.match)) {
    if (value === undefined) continue;
    if (key === 'inPort' && typeof value === 'number') match.inPort = value;
    else if (key === 'tunnelId' && typeof value === 'bigint') match.tunId = value;
    else if (key === 'metadata' && typeof value === 'bigint') match.metadata = value;
    else if (key === 'ethDst' && typeof value === 'string') match.ethDst = value.toLowerCase();
    else foreign.push(`${key}=${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`);
  }
  const flow: OfFlow = { table: f.tableId, priority: f.priority, cookie: f.cookie, match, actions: [], native: f };
  if (foreign.length) flow.foreignMatch = foreign.join(',');
  for (const ins of f.instructions) {
    if (ins.type === 'applyActions') flow.actions.push(...ins.actions.map(fromLibAction));
    else if (ins.type === 'writeMetadata' && ins.mask === 0xffffffffffffffffn) flow.writeMetadata = ins.metadata;
    else if (ins.type === 'gotoTable') flow.gotoTable = ins.tableId;
    else flow.actions.push({ type: 'other', text: `instruction:${ins.type}` });
  }
  return flow;
}
