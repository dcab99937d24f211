/**
 * The agent's OpenFlow pipeline (DESIGN §4): the one place that knows what
 * its tables, priorities, cookies, hash fields and bucket shapes mean. It
 * builds the desired flows and groups from domain objects (a VNI's local
 * ports, a MAC route, an ECMP group's paths or hash slots, a flood domain)
 * and translates them to src/lib/openflow messages and back.
 *
 * With T = ovs.tableBase:
 *  - table T (classify), in_port=<local port of VNI V>:
 *      write_metadata:V, goto_table:T+1; a port without attached-mac first
 *      learns its source MAC into T+1 and T+2 (LEARNED_PRIORITY, aged out
 *      after LEARNED_IDLE_S, cookie fabric|LEARNED_TAG: not ours to sync)
 *  - table T, in_port=<tunnel>,tun_id=V: write_metadata:V, goto_table:T+2
 *  - table T+1 (what local ports send), metadata=V:
 *      dl_dst=<local MAC> (LOCAL_PRIORITY, learned: LEARNED_PRIORITY):
 *        output to its port — local unicast never leaves the node
 *      dl_dst=<remote MAC> (MAC_PRIORITY):
 *        set tun_id=V, group:G                          (ECMP)
 *        set tun_id=V, set tun_dst=VTEP, output:<tunnel> (single path)
 *      nothing else (FLOOD_PRIORITY, the lowest): set tun_id=V, group:F —
 *        broadcast, multicast and unknown unicast
 *  - table T+2 (what the fabric sends), metadata=V:
 *      dl_dst=<local MAC> (LOCAL_PRIORITY, learned: LEARNED_PRIORITY):
 *        output to its port only
 *      nothing else (FLOOD_PRIORITY): output to each local port of V
 *  - a `select` group per kernel nexthop group in use; every bucket sets
 *    tun_dst and outputs to the tunnel: one bucket per path with its
 *    weight, or (dp_hash, bucketLayout=slots) one equal bucket per hash
 *    slot (hash-slots.ts);
 *  - an `all` group per VNI with local ports (head-end replication): a
 *    bucket per VTEP of the VNI's flood list (set tun_dst, output to the
 *    tunnel), then one per local port (output). Open vSwitch skips an
 *    output to the packet's in_port, so a frame never returns to its port;
 *    tunnel traffic never reaches table T+1, so it is never flooded back
 *    into the fabric (split horizon).
 * Buckets end in their own output: Open vSwitch restores the packet's
 * registers after a bucket, so a bucket that only loads a register for a
 * later table loses it (reference/ovn-ecmp-fdb.md §1.6).
 *
 * Every flow carries the fabric cookie. ECMP flows also carry the kernel
 * nhid in the cookie bits outside cookieMask, and a VNI's flood flow names
 * its flood group: that is how a restarted agent finds the group ids it
 * gave out (`recognize`), with no state file.
 */
import { OFPG, OFPP, type Action, type BundleMessage, type Bucket, type FlowMod, type FlowStats, type GroupDesc, type GroupMod, type Instruction, type Match, type SelectionMethod } from '../../lib/openflow/index.js';
import type { IdRange, OfAction, OfBucket, OfFlow, OfGroup, OfMatch } from '../model.js';
import { inRange } from '../ownership.js';

/** A remote MAC's flow in table T+1, and the classifier flows of table T. */
export const MAC_PRIORITY = 100;
/** A local MAC's flow in tables T+1 and T+2: above remote ones, so a MAC attached here is switched here. */
export const LOCAL_PRIORITY = 200;
/** A learned local MAC (a port without attached-mac): above remote MACs (it was seen here last), below attached ones. */
export const LEARNED_PRIORITY = 150;
/** A VNI's flood flow in table T+1 and its local delivery in T+2: below every MAC flow, so only what no MAC flow claims. */
export const FLOOD_PRIORITY = 1;
/** A learned MAC not seen for this long is forgotten, as a bridge ages its FDB (Linux's default ageing time). */
export const LEARNED_IDLE_S = 300;
/**
 * The low cookie bits of learned flows: Open vSwitch writes them, not the
 * agent, so they are read (to export and count learned MACs) but never
 * synced. No ECMP flow is confused with one: those name a group.
 */
const LEARNED_TAG = 0xffffffffn;

const ALL_BITS = 0xffffffffffffffffn;

/**
 * The fields `selection_method=hash` hashes over. Open vSwitch hashes exactly
 * the listed fields (skipping those whose prerequisites a packet lacks); with
 * none listed, every flow hashes alike and takes the first bucket (seen on
 * OVS 3.1 with traffic: the "default fields" of ovs-ofctl(8) apply only when
 * no selection method is given).
 */
const HASH_FIELDS = ['eth_src', 'eth_dst', 'eth_type', 'ip_proto', 'ip_src', 'ip_dst', 'ipv6_src', 'ipv6_dst', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst'];

/** The fabric's OpenFlow settings the pipeline is laid out with. */
export interface PipelineSettings {
  tableBase: number;
  groupIdRange: IdRange;
  cookie: bigint;
  cookieMask: bigint;
}

/** A change to the bridge, in the order a bundle sends it (see openflow/diff.ts). */
export type OfChange =
  | { kind: 'group'; command: 'add' | 'modify' | 'delete'; group: OfGroup }
  | { kind: 'flow'; command: 'add' | 'modifyStrict' | 'deleteStrict'; key: string; flow: OfFlow };

/** What an installed flow of ours says about the ids a previous agent gave out. */
export type Recognized = { kind: 'ecmp'; nhid: number; groupId: number } | { kind: 'flood'; vni: number; groupId: number };

/**
 * A flow's identity in OpenFlow: table, priority and match (what strict
 * modify and delete name), from the fields themselves. Built with `join`:
 * one flat string per key (a `+` concatenation is a rope that V8 keeps
 * alive in front of its flattened copy, and there is a key per MAC).
 */
export function flowKey(f: Pick<OfFlow, 'table' | 'priority' | 'match' | 'foreignMatch'>): string {
  const m = f.match;
  return [f.table, f.priority, m.inPort ?? '', m.tunId ?? '', m.metadata ?? '', m.ethDst ?? '', f.foreignMatch ?? ''].join('/');
}

export class Pipeline {
  /** Table T+1: what local ports send, by destination MAC. */
  readonly macTable: number;
  /** Table T+2: what the fabric sends, delivered to local ports by destination MAC. */
  readonly fabricTable: number;
  // Parts shared between the flows and buckets built (100,000 MAC flows over
  // 10,000 groups at bench scale): one metadata value and set_field per
  // VNI, one cookie and actions list per nhid and VNI, one slot bucket per
  // VTEP, slot and tunnel port. Built objects are never mutated (the diff
  // and the edge only read them), so sharing is safe.
  private readonly vniParts = new Map<number, { metadata: bigint; setTunId: OfAction }>();
  private readonly ecmpParts = new Map<number, { groupId: number; cookie: bigint; actions: Map<number, readonly OfAction[]> }>();
  private slotBuckets = { tunnel: -1, byVtep: new Map<string, OfBucket[]>() };

  constructor(readonly settings: PipelineSettings) {
    this.macTable = settings.tableBase + 1;
    this.fabricTable = settings.tableBase + 2;
  }

  // ------------------------------------------------------------ flows

  /** Table T: traffic from a local port of the VNI enters the VNI; `learn` notes where its source MAC lives. */
  classifierFlow(vni: number, port: number, learn = false): OfFlow {
    const s = this.settings;
    const actions: OfAction[] = learn ? [this.learnAction(vni, this.macTable), this.learnAction(vni, this.fabricTable)] : [];
    return { table: s.tableBase, priority: MAC_PRIORITY, cookie: s.cookie, match: { inPort: port }, actions, writeMetadata: BigInt(vni), gotoTable: this.macTable };
  }

  /** learn(table=N, metadata=V, dl_dst=<this packet's dl_src> → output:<its in_port>). */
  private learnAction(vni: number, table: number): OfAction {
    return {
      type: 'learn',
      learn: {
        type: 'learn',
        tableId: table,
        priority: LEARNED_PRIORITY,
        idleTimeout: LEARNED_IDLE_S,
        cookie: this.learnedCookie,
        specs: [
          { src: { value: BigInt(vni) }, dst: { match: 'OXM_OF_METADATA' }, nBits: 64 },
          { src: { field: 'NXM_OF_ETH_SRC' }, dst: { match: 'NXM_OF_ETH_DST' }, nBits: 48 },
          { src: { field: 'NXM_OF_IN_PORT' }, dst: 'output', nBits: 16 },
        ],
      },
    };
  }

  /** The cookie of the flows Open vSwitch learns for us. */
  get learnedCookie(): bigint {
    return (this.settings.cookie & this.settings.cookieMask) | (LEARNED_TAG & ~this.settings.cookieMask);
  }

  /** A flow Open vSwitch learned (not one the agent syncs). */
  isLearned(flow: OfFlow): boolean {
    return flow.priority === LEARNED_PRIORITY && (flow.table === this.macTable || flow.table === this.fabricTable) && flow.cookie === this.learnedCookie;
  }

  /** The local MAC a learned flow of table T+1 records: its VNI, MAC and port. */
  learnedMac(flow: OfFlow): { vni: number; mac: string; port: number } | undefined {
    const out = flow.actions[0];
    if (!this.isLearned(flow) || flow.table !== this.macTable || flow.match.metadata === undefined || flow.match.ethDst === undefined || out?.type !== 'output') return undefined;
    return { vni: Number(flow.match.metadata), mac: flow.match.ethDst, port: out.port };
  }

  /** Table T: traffic from the tunnel with the VNI's id enters the VNI, towards its local ports (table T+2). */
  fromFabricFlow(vni: number, tunnel: number): OfFlow {
    const s = this.settings;
    return { table: s.tableBase, priority: MAC_PRIORITY, cookie: s.cookie, match: { inPort: tunnel, tunId: BigInt(vni) }, actions: [], writeMetadata: BigInt(vni), gotoTable: this.fabricTable };
  }

  /** Tables T+1 and T+2: a local MAC goes to its port only, whoever sent it. */
  localMacFlows(vni: number, mac: string, port: number): [OfFlow, OfFlow] {
    const { metadata } = this.partsOfVni(vni);
    const s = this.settings;
    const flow = (table: number): OfFlow => ({ table, priority: LOCAL_PRIORITY, cookie: s.cookie, match: { metadata, ethDst: mac }, actions: [{ type: 'output', port }] });
    return [flow(this.macTable), flow(this.fabricTable)];
  }

  /** Table T+2: what the fabric sends to no local MAC goes to every local port of the VNI, never back into the fabric. */
  fabricFloodFlow(vni: number, ports: readonly number[]): OfFlow {
    const s = this.settings;
    return { table: this.fabricTable, priority: FLOOD_PRIORITY, cookie: s.cookie, match: { metadata: this.partsOfVni(vni).metadata }, actions: ports.map((port) => ({ type: 'output', port })) };
  }

  /** Table T+1: a MAC behind one VTEP. */
  singlePathFlow(vni: number, mac: string, vtep: string, tunnel: number): OfFlow {
    const { metadata, setTunId } = this.partsOfVni(vni);
    return { table: this.macTable, priority: MAC_PRIORITY, match: { metadata, ethDst: mac }, cookie: this.settings.cookie, actions: [setTunId, { type: 'setTunDst', ip: vtep }, { type: 'output', port: tunnel }] };
  }

  /** Table T+1: a MAC behind a kernel nexthop group, through its select group. */
  ecmpFlow(vni: number, mac: string, nhid: number, groupId: number): OfFlow {
    let parts = this.ecmpParts.get(nhid);
    if (parts === undefined || parts.groupId !== groupId) this.ecmpParts.set(nhid, (parts = { groupId, cookie: this.ecmpCookie(nhid), actions: new Map() }));
    let actions = parts.actions.get(vni);
    if (actions === undefined) parts.actions.set(vni, (actions = [this.partsOfVni(vni).setTunId, { type: 'group', groupId }]));
    // OfFlow.actions is typed mutable for the decoder; nothing mutates a built flow's list.
    return { table: this.macTable, priority: MAC_PRIORITY, match: { metadata: this.partsOfVni(vni).metadata, ethDst: mac }, cookie: parts.cookie, actions: actions as OfAction[] };
  }

  /** The nexthop group left: its shared parts go with it. */
  forgetNhid(nhid: number): void {
    this.ecmpParts.delete(nhid);
  }

  /** Table T+1: what no MAC flow of the VNI claims is flooded through its `all` group. */
  floodFlow(vni: number, groupId: number): OfFlow {
    const { metadata, setTunId } = this.partsOfVni(vni);
    return { table: this.macTable, priority: FLOOD_PRIORITY, cookie: this.settings.cookie, match: { metadata }, actions: [setTunId, { type: 'group', groupId }] };
  }

  /** The identity of a VNI's flood flow. */
  floodFlowKey(vni: number): string {
    return flowKey({ table: this.macTable, priority: FLOOD_PRIORITY, match: { metadata: BigInt(vni) } });
  }

  /** The identity of a MAC flow. */
  macFlowKey(vni: number, mac: string): string {
    return flowKey({ table: this.macTable, priority: MAC_PRIORITY, match: { metadata: BigInt(vni), ethDst: mac } });
  }

  /** The cookie of an ECMP flow: the fabric's, plus the nhid in the free bits. */
  ecmpCookie(nhid: number): bigint {
    return this.settings.cookie | (BigInt(nhid) & ~this.settings.cookieMask & ALL_BITS);
  }

  // ----------------------------------------------------------- groups

  /** A select group with one weighted bucket per path. */
  weightedGroup(groupId: number, selectionMethod: 'dp_hash' | 'hash', paths: ReadonlyArray<{ vtep: string; weight: number }>, tunnel: number): OfGroup {
    return { groupId, type: 'select', selectionMethod, buckets: paths.map((p, i) => ({ bucketId: i, weight: p.weight, tunDst: p.vtep, outPort: tunnel })) };
  }

  /** A dp_hash group of equal buckets, bucket i = hash slot i of Open vSwitch's table (hash-slots.ts). */
  slotGroup(groupId: number, slots: readonly string[], tunnel: number): OfGroup {
    return { groupId, type: 'select', selectionMethod: 'dp_hash', buckets: slots.map((vtep, i) => this.slotBucket(vtep, i, tunnel)) };
  }

  /** A VNI's flood group: the flood VTEPs first, then the local ports, both in the order given. */
  floodGroup(groupId: number, vteps: readonly string[], tunnel: number, ports: readonly number[]): OfGroup {
    const buckets: OfBucket[] = vteps.map((ip, i) => ({ bucketId: i, weight: 1, tunDst: ip, outPort: tunnel }));
    for (const port of ports) buckets.push({ bucketId: buckets.length, weight: 1, outPort: port });
    return { groupId, type: 'all', buckets };
  }

  // ----------------------------------------------------- reading back

  /** Group ids of ours: inside groupIdRange (another controller's groups are not ours to see). */
  ownsGroup(groupId: number): boolean {
    return inRange(groupId, this.settings.groupIdRange);
  }

  /** The ids an installed flow of ours records: an ECMP flow's nhid and group, a flood flow's VNI and group. */
  recognize(flow: OfFlow): Recognized | undefined {
    const group = flow.actions.find((a) => a.type === 'group');
    if (group?.type !== 'group' || !this.ownsGroup(group.groupId) || flow.table !== this.macTable || flow.foreignMatch) return undefined;
    const m = flow.match;
    if (flow.priority === FLOOD_PRIORITY && m.metadata !== undefined && m.ethDst === undefined && m.inPort === undefined && m.tunId === undefined) {
      return { kind: 'flood', vni: Number(m.metadata), groupId: group.groupId };
    }
    const nhid = Number(flow.cookie & ~this.settings.cookieMask & 0xffffffffn);
    return nhid > 0 ? { kind: 'ecmp', nhid, groupId: group.groupId } : undefined;
  }

  // ---------------------------------------------- to and from the wire

  toMessage(c: OfChange): BundleMessage {
    if (c.kind === 'group') return { type: 'groupMod', groupMod: toGroupMod(c.command, c.group) };
    const f = c.flow;
    const s = this.settings;
    if (c.command === 'deleteStrict') {
      const native = f.native as FlowStats | undefined;
      // Only our flows: cookie & mask must equal the fabric's cookie.
      const flowMod: FlowMod = { command: 'deleteStrict', tableId: f.table, priority: f.priority, cookie: s.cookie, cookieMask: s.cookieMask, outPort: OFPP.ANY, outGroup: OFPG.ANY, match: native?.match ?? toLibMatch(f.match), instructions: [] };
      return { type: 'flowMod', flowMod };
    }
    const flowMod: FlowMod = { command: c.command, tableId: f.table, priority: f.priority, cookie: f.cookie, match: toLibMatch(f.match), instructions: instructionsOf(f) };
    // MODIFY_STRICT restricted to our cookie, so a flow of another
    // controller with the same match and priority is never rewritten.
    if (c.command === 'modifyStrict') flowMod.cookieMask = s.cookieMask;
    return { type: 'flowMod', flowMod };
  }

  private partsOfVni(vni: number): { metadata: bigint; setTunId: OfAction } {
    let parts = this.vniParts.get(vni);
    if (parts === undefined) {
      const metadata = BigInt(vni);
      this.vniParts.set(vni, (parts = { metadata, setTunId: { type: 'setTunId', value: metadata } }));
    }
    return parts;
  }

  /** Bound of the shared slot buckets (VTEPs × slots): far above any fabric's VTEPs per node. */
  private static readonly MAX_SHARED_VTEPS = 4096;

  private slotBucket(vtep: string, bucketId: number, tunnel: number): OfBucket {
    if (this.slotBuckets.tunnel !== tunnel || this.slotBuckets.byVtep.size > Pipeline.MAX_SHARED_VTEPS) this.slotBuckets = { tunnel, byVtep: new Map() };
    let buckets = this.slotBuckets.byVtep.get(vtep);
    if (buckets === undefined) this.slotBuckets.byVtep.set(vtep, (buckets = []));
    return (buckets[bucketId] ??= { bucketId, weight: 1, tunDst: vtep, outPort: tunnel });
  }
}

// ------------------------------------------------------------ to the switch

export function toLibAction(a: OfAction): Action {
  switch (a.type) {
    case 'setTunId':
      return { type: 'setField', field: 'tun_id', value: a.value };
    case 'setTunDst':
      return setTunDst(a.ip);
    case 'group':
      return { type: 'group', groupId: a.groupId };
    case 'output':
      return { type: 'output', port: a.port };
    case 'learn':
      return a.learn;
    case 'other':
      throw new Error(`cannot write a foreign action (${a.text})`);
  }
}

function setTunDst(ip: string): Action {
  return { type: 'setField', field: ip.includes(':') ? 'tun_ipv6_dst' : 'tun_dst', value: ip };
}

export function toLibMatch(m: OfMatch): Match {
  const match: Match = {};
  if (m.inPort !== undefined) match.inPort = m.inPort;
  if (m.tunId !== undefined) match.tunnelId = m.tunId;
  if (m.metadata !== undefined) match.metadata = m.metadata;
  if (m.ethDst !== undefined) match.ethDst = m.ethDst;
  return match;
}

export function instructionsOf(f: OfFlow): Instruction[] {
  const out: Instruction[] = [];
  if (f.actions.length > 0) out.push({ type: 'applyActions', actions: f.actions.map(toLibAction) });
  if (f.writeMetadata !== undefined) out.push({ type: 'writeMetadata', metadata: f.writeMetadata, mask: ALL_BITS });
  if (f.gotoTable !== undefined) out.push({ type: 'gotoTable', tableId: f.gotoTable });
  return out;
}

function selectionMethodOf(name: 'dp_hash' | 'hash'): SelectionMethod {
  return name === 'hash' ? { name, fields: HASH_FIELDS.map((field) => ({ field })) } : { name };
}

export function toLibBuckets(g: OfGroup): Bucket[] {
  return g.buckets.map((b) => {
    const actions: Action[] = b.tunDst === undefined ? [] : [setTunDst(b.tunDst)];
    actions.push({ type: 'output', port: b.outPort });
    // Weights mean something in select groups only.
    return g.type === 'select' ? { bucketId: b.bucketId, weight: b.weight, actions } : { bucketId: b.bucketId, actions };
  });
}

function toGroupMod(command: 'add' | 'modify' | 'delete', g: OfGroup): GroupMod {
  if (command === 'delete') return { command, type: g.type, groupId: g.groupId, buckets: [] };
  const mod: GroupMod = { command, type: g.type, groupId: g.groupId, buckets: toLibBuckets(g) };
  if (g.type === 'select') mod.selectionMethod = selectionMethodOf(g.selectionMethod ?? 'dp_hash');
  return mod;
}

// ---------------------------------------------------------- from the switch

function display(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x));
}

function fromLibAction(a: Action): OfAction {
  if (a.type === 'output') return { type: 'output', port: a.port };
  if (a.type === 'group') return { type: 'group', groupId: a.groupId };
  if (a.type === 'learn') return { type: 'learn', learn: a };
  if (a.type === 'setField' && a.mask === undefined) {
    if (a.field === 'tun_id' && typeof a.value === 'bigint') return { type: 'setTunId', value: a.value };
    if ((a.field === 'tun_dst' || a.field === 'tun_ipv6_dst') && typeof a.value === 'string') return { type: 'setTunDst', ip: a.value };
  }
  return { type: 'other', text: display(a) };
}

/**
 * An installed group as the agent's model. Anything of a shape the agent
 * never writes (another type or selection method, a bucket that is not
 * `[set tun_dst,] output`) is kept as a `foreign` mark, so it differs from
 * any desired group and the sync rewrites it instead of misreading it.
 */
export function fromGroupDesc(d: GroupDesc): OfGroup {
  const foreign: string[] = [];
  const type = d.type === 'all' ? 'all' : 'select';
  if (d.type !== 'all' && d.type !== 'select') foreign.push(`type=${d.type}`);
  const buckets = d.buckets.map((b, i): OfBucket => {
    const actions = b.actions.map(fromLibAction);
    const [first, second] = actions;
    const bucket: OfBucket = { bucketId: b.bucketId ?? i, weight: type === 'select' ? (b.weight ?? 1) : 1, outPort: -1 };
    if (actions.length === 2 && first?.type === 'setTunDst' && second?.type === 'output') {
      bucket.tunDst = first.ip;
      bucket.outPort = second.port;
    } else if (type === 'all' && actions.length === 1 && first?.type === 'output') {
      bucket.outPort = first.port;
    } else {
      foreign.push(`bucket${i}=${actions.map((a) => (a.type === 'other' ? a.text : a.type)).join('+')}`);
    }
    return bucket;
  });
  const group: OfGroup = { groupId: d.groupId, type, buckets };
  if (type === 'select') {
    const name = d.selectionMethod?.name;
    group.selectionMethod = name === 'hash' ? 'hash' : 'dp_hash';
    if (name !== undefined && name !== 'hash' && name !== 'dp_hash') foreign.push(`selection_method=${name}`);
  }
  if (foreign.length > 0) group.foreign = foreign.join(',');
  return group;
}

/** An installed flow as the agent's model; match fields it never writes make it foreign (deleted). */
export function fromFlowStats(f: FlowStats): OfFlow {
  const match: OfMatch = {};
  const foreign: string[] = [];
  for (const [key, value] of Object.entries(f.match)) {
    if (value === undefined) continue;
    if (key === 'inPort' && typeof value === 'number') match.inPort = value;
    else if (key === 'tunnelId' && typeof value === 'bigint') match.tunId = value;
    else if (key === 'metadata' && typeof value === 'bigint') match.metadata = value;
    else if (key === 'ethDst' && typeof value === 'string') match.ethDst = value.toLowerCase();
    else foreign.push(`${key}=${display(value)}`);
  }
  const flow: OfFlow = { table: f.tableId, priority: f.priority, cookie: f.cookie, match, actions: [], native: f };
  if (foreign.length) flow.foreignMatch = foreign.join(',');
  for (const ins of f.instructions) {
    if (ins.type === 'applyActions') flow.actions.push(...ins.actions.map(fromLibAction));
    else if (ins.type === 'writeMetadata' && ins.mask === ALL_BITS) flow.writeMetadata = ins.metadata;
    else if (ins.type === 'gotoTable') flow.gotoTable = ins.tableId;
    else flow.actions.push({ type: 'other', text: `instruction:${ins.type}` });
  }
  return flow;
}
