import { readActions, writeActions, type Action } from './actions.js';
import { NTR_COMPAT_VENDOR_ID, NTR_VENDOR_ID, OFP13, OFPG, OFPG_BUCKET, type OfVersion } from './constants.js';
import { OpenFlowEncodeError } from './errors.js';
import { fullMask, oxmFieldByName, readOxm, writeOxm, type OxmValue } from './oxm.js';
import { checkU64, checkUint, pad8, Reader, type Writer } from './wire.js';

/**
 * Groups: GROUP_MOD bodies, GROUP_DESC and GROUP (stats) multipart entries,
 * in their OpenFlow 1.3 and 1.5 layouts (wire.md A2, A5).
 */
export type GroupType = 'all' | 'select' | 'indirect' | 'ff';
export type GroupModCommand = 'add' | 'modify' | 'delete' | 'insertBucket' | 'removeBucket' | 'addOrModify';

const GROUP_TYPES: Record<GroupType, number> = { all: 0, select: 1, indirect: 2, ff: 3 };
const GROUP_COMMANDS: Record<GroupModCommand, number> = { add: 0, modify: 1, delete: 2, insertBucket: 3, removeBucket: 5, addOrModify: 0x8000 };
const groupTypeByWire = invert(GROUP_TYPES);
const groupCommandByWire = invert(GROUP_COMMANDS);

/** One hash field of the `hash` selection method; `mask` absent = all bits. */
export interface HashField {
  field: string;
  mask?: OxmValue;
}

/** Open Vswitch's selection-method group property (Netronome experimenter, 1.5 only). */
export interface SelectionMethod {
  name: 'dp_hash' | 'hash' | (string & {});
  param?: bigint;
  fields?: HashField[];
}

/** A property this library does not model, kept as type + payload (hex, without padding). */
export interface RawProperty {
  type: number;
  body: string;
}

export interface Bucket {
  /** 1.5 only; when absent the bucket's position is used (as OVS does for 1.1–1.4 groups). */
  bucketId?: number;
  /** Select groups only; absent means 1 on the wire (OVS's default). */
  weight?: number;
  watchPort?: number;
  watchGroup?: number;
  actions: Action[];
  /** Unmodelled bucket properties (1.5). */
  properties?: RawProperty[];
}

export interface GroupMod {
  command: GroupModCommand;
  /** Defaults to `all` (what OVS writes for DELETE). */
  type?: GroupType;
  groupId: number;
  /** 1.5: the bucket INSERT_BUCKET inserts before / REMOVE_BUCKET removes; ALL otherwise. */
  commandBucketId?: number;
  selectionMethod?: SelectionMethod;
  buckets: Bucket[];
  properties?: RawProperty[];
}

/** A group as GROUP_DESC reports it. */
export interface GroupDesc {
  groupId: number;
  type: GroupType;
  selectionMethod?: SelectionMethod;
  buckets: Bucket[];
  properties?: RawProperty[];
}

export interface BucketCounters {
  packetCount: bigint;
  byteCount: bigint;
}

/** GROUP stats entry; bucket counters are positional (bucket order of GROUP_DESC). */
export interface GroupStats {
  groupId: number;
  refCount: number;
  packetCount: bigint;
  byteCount: bigint;
  durationSec: number;
  durationNsec: number;
  buckets: BucketCounters[];
}

function invert<K extends string>(table: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(table).map(([k, v]) => [v as number, k as K]));
}

function groupTypeWire(field: string, t: GroupType | undefined): number {
  const v = GROUP_TYPES[t ?? 'all'];
  if (v === undefined) throw new OpenFlowEncodeError(field, `unknown group type "${String(t)}"`);
  return v;
}

function readGroupType(r: Reader, field: string): GroupType {
  const at = r.offset;
  const v = r.u8(field);
  const t = groupTypeByWire.get(v);
  if (!t) throw r.fail(field, `unknown group type ${v}`, at);
  return t;
}

const BUCKET_PROP = { WEIGHT: 0, WATCH_PORT: 1, WATCH_GROUP: 2 } as const;
const SELECTION_METHOD_EXP_TYPE = 1;

// ---- buckets -------------------------------------------------------------

function writeBucket15(w: Writer, b: Bucket, index: number, type: GroupType, what: string): void {
  const start = w.length;
  w.u16(0).u16(0).u32(checkUint(`${what}.bucketId`, b.bucketId ?? index, 32));
  writeActions(w, b.actions, `${what}.actions`);
  w.patchU16(start + 2, w.length - start - 8);
  // OVS writes WEIGHT for every select bucket (a bucket without it gets weight 1).
  if (type === 'select' || b.weight !== undefined) {
    w.u16(BUCKET_PROP.WEIGHT).u16(8).u16(checkUint(`${what}.weight`, b.weight ?? 1, 16)).zeros(2);
  }
  if (b.watchPort !== undefined && b.watchPort !== OFPG.ANY) w.u16(BUCKET_PROP.WATCH_PORT).u16(8).u32(checkUint(`${what}.watchPort`, b.watchPort, 32));
  if (b.watchGroup !== undefined && b.watchGroup !== OFPG.ANY) w.u16(BUCKET_PROP.WATCH_GROUP).u16(8).u32(checkUint(`${what}.watchGroup`, b.watchGroup, 32));
  for (const p of b.properties ?? []) writeRawProperty(w, p, `${what}.properties`);
  w.patchU16(start, w.length - start);
}

function readBucket15(r: Reader, field: string): Bucket {
  const at = r.offset;
  const len = r.u16(`${field}.len`);
  if (len < 8) throw r.fail(`${field}.len`, `bucket length ${len} < 8`, at);
  const actionLen = r.u16(`${field}.action_array_len`);
  const bucketId = r.u32(`${field}.bucket_id`);
  const body = r.sub(len - 8, field);
  if (actionLen > len - 8) throw r.fail(`${field}.action_array_len`, `${actionLen} exceeds bucket length ${len}`, at + 2);
  const actions = readActions(body.sub(actionLen, 'actions'), `${field}.actions`);
  const bucket: Bucket = { bucketId, actions };
  for (const p of readProperties(body, `${field}.properties`)) {
    const pr = new Reader(p.bytes, p.at, `${field}.property`);
    if (p.type === BUCKET_PROP.WEIGHT && p.bytes.length >= 2) bucket.weight = pr.u16('weight');
    else if (p.type === BUCKET_PROP.WATCH_PORT && p.bytes.length >= 4) bucket.watchPort = pr.u32('watch_port');
    else if (p.type === BUCKET_PROP.WATCH_GROUP && p.bytes.length >= 4) bucket.watchGroup = pr.u32('watch_group');
    else (bucket.properties ??= []).push({ type: p.type, body: p.bytes.toString('hex') });
  }
  return bucket;
}

function writeBucket13(w: Writer, b: Bucket, type: GroupType, what: string): void {
  const start = w.length;
  // 1.3 carries the weight in the bucket itself; OVS needs 0 outside select groups.
  w.u16(0).u16(checkUint(`${what}.weight`, b.weight ?? (type === 'select' ? 1 : 0), 16));
  w.u32(checkUint(`${what}.watchPort`, b.watchPort ?? OFPG.ANY, 32)).u32(checkUint(`${what}.watchGroup`, b.watchGroup ?? OFPG.ANY, 32)).zeros(4);
  writeActions(w, b.actions, `${what}.actions`);
  w.patchU16(start, w.length - start);
}

function readBucket13(r: Reader, index: number, type: GroupType, field: string): Bucket {
  const at = r.offset;
  const len = r.u16(`${field}.len`);
  if (len < 16) throw r.fail(`${field}.len`, `bucket length ${len} < 16`, at);
  const weight = r.u16(`${field}.weight`);
  const watchPort = r.u32(`${field}.watch_port`);
  const watchGroup = r.u32(`${field}.watch_group`);
  r.skip(4, `${field}.pad`);
  const actions = readActions(r.sub(len - 16, 'actions'), `${field}.actions`);
  const bucket: Bucket = { bucketId: index, actions };
  if (type === 'select' || weight !== 0) bucket.weight = weight;
  if (watchPort !== OFPG.ANY) bucket.watchPort = watchPort;
  if (watchGroup !== OFPG.ANY) bucket.watchGroup = watchGroup;
  return bucket;
}

// ---- properties ------------------------------------------------------------

interface ReadProperty {
  type: number;
  bytes: Buffer;
  /** Absolute offset of the payload, for error reports. */
  at: number;
}

/** Properties: type u16, len u16 (without padding), payload, zero padding to 8. */
function readProperties(r: Reader, field: string): ReadProperty[] {
  const out: ReadProperty[] = [];
  while (r.remaining > 0) {
    const name = `${field}[${out.length}]`;
    const at = r.offset;
    const type = r.u16(`${name}.type`);
    const len = r.u16(`${name}.len`);
    if (len < 4) throw r.fail(`${name}.len`, `property length ${len} < 4`, at + 2);
    const bodyAt = r.absolute;
    const bytes = r.bytes(len - 4, `${name}.body`);
    r.skip(Math.min(pad8(len) - len, r.remaining), `${name}.padding`);
    out.push({ type, bytes, at: bodyAt });
  }
  return out;
}

function writeRawProperty(w: Writer, p: RawProperty, what: string): void {
  const body = Buffer.from(p.body, 'hex');
  const start = w.length;
  w.u16(checkUint(`${what}.type`, p.type, 16)).u16(4 + body.length).bytes(body);
  w.padTo8(start);
}

function writeSelectionMethod(w: Writer, sm: SelectionMethod, what: string): void {
  const start = w.length;
  const name = Buffer.from(sm.name, 'ascii');
  if (name.length > 15) throw new OpenFlowEncodeError(`${what}.name`, `"${sm.name}" is longer than 15 characters`);
  if (sm.name === 'dp_hash' && sm.fields && sm.fields.length > 0) {
    // OVS refuses fields with dp_hash (ofproto-dpif.c: they are not hashed).
    throw new OpenFlowEncodeError(`${what}.fields`, 'dp_hash takes no fields');
  }
  w.u16(0xffff).u16(0).u32(NTR_VENDOR_ID).u32(SELECTION_METHOD_EXP_TYPE).u32(0);
  w.bytes(name).zeros(16 - name.length);
  w.u64(checkU64(`${what}.param`, sm.param ?? 0n));
  (sm.fields ?? []).forEach((f, i) => {
    const d = oxmFieldByName(f.field);
    if (!d) throw new OpenFlowEncodeError(`${what}.fields[${i}]`, `unknown field "${f.field}"`);
    // The hash fields are OXMs without hasmask whose value is the mask to hash over.
    writeOxm(w, d, f.mask ?? fullMask(d), undefined, `${what}.fields[${i}]`);
  });
  w.patchU16(start + 2, w.length - start);
  w.padTo8(start);
}

function decodeSelectionMethod(body: Buffer, base: number, field: string): SelectionMethod | undefined {
  const r = new Reader(body, base, field);
  const experimenter = r.u32('experimenter');
  const expType = r.u32('exp_type');
  if ((experimenter !== NTR_VENDOR_ID && experimenter !== NTR_COMPAT_VENDOR_ID) || expType !== SELECTION_METHOD_EXP_TYPE) return undefined;
  r.skip(4, 'pad');
  const nameBytes = r.bytes(16, 'selection_method');
  const nul = nameBytes.indexOf(0);
  const name = nameBytes.subarray(0, nul < 0 ? 16 : nul).toString('ascii');
  const param = r.u64('selection_method_param');
  const fields: HashField[] = [];
  while (r.remaining > 0) {
    // The trailing zero padding is not an OXM.
    if (r.remaining < 4 || r.peekU32('fields.header') === 0) break;
    const oxm = readOxm(r, `fields[${fields.length}]`);
    if (!oxm.def || oxm.value === undefined) throw r.fail(`fields[${fields.length}]`, `unsupported hash field class 0x${oxm.raw.oxmClass.toString(16)} field ${oxm.raw.field}`);
    const full = fullMask(oxm.def);
    fields.push(oxm.value === full ? { field: oxm.def.name } : { field: oxm.def.name, mask: oxm.value });
  }
  const sm: SelectionMethod = { name };
  if (param !== 0n) sm.param = param;
  if (fields.length > 0) sm.fields = fields;
  return sm;
}

/** Group properties after the buckets (1.5): the selection method and anything else, raw. */
function readGroupProperties(r: Reader, field: string): { selectionMethod?: SelectionMethod; properties?: RawProperty[] } {
  const out: { selectionMethod?: SelectionMethod; properties?: RawProperty[] } = {};
  let i = 0;
  while (r.remaining > 0) {
    const name = `${field}[${i++}]`;
    const at = r.offset;
    const type = r.u16(`${name}.type`);
    const len = r.u16(`${name}.len`);
    if (len < 4) throw r.fail(`${name}.len`, `property length ${len} < 4`, at + 2);
    const bodyAt = r.absolute;
    const body = r.bytes(len - 4, `${name}.body`);
    r.skip(Math.min(pad8(len) - len, r.remaining), `${name}.padding`);
    const sm = type === 0xffff && body.length >= 36 ? decodeSelectionMethod(body, bodyAt, name) : undefined;
    if (sm) out.selectionMethod = sm;
    else (out.properties ??= []).push({ type, body: body.toString('hex') });
  }
  return out;
}

// ---- GROUP_MOD -------------------------------------------------------------

export function writeGroupMod(w: Writer, version: OfVersion, g: GroupMod): void {
  const command = GROUP_COMMANDS[g.command];
  if (command === undefined) throw new OpenFlowEncodeError('groupMod.command', `unknown command "${String(g.command)}"`);
  const type = g.type ?? 'all';
  w.u16(command).u8(groupTypeWire('groupMod.type', type)).u8(0).u32(checkUint('groupMod.groupId', g.groupId, 32));
  if (version === OFP13) {
    if (g.command === 'insertBucket' || g.command === 'removeBucket') throw new OpenFlowEncodeError('groupMod.command', `${g.command} needs OpenFlow 1.5`);
    if (g.selectionMethod) throw new OpenFlowEncodeError('groupMod.selectionMethod', 'selection methods need OpenFlow 1.5');
    g.buckets.forEach((b, i) => writeBucket13(w, b, type, `groupMod.buckets[${i}]`));
    return;
  }
  const lenAt = w.length;
  const defaultBucket = g.command === 'insertBucket' ? OFPG_BUCKET.LAST : OFPG_BUCKET.ALL;
  w.u16(0).u16(0).u32(checkUint('groupMod.commandBucketId', g.commandBucketId ?? defaultBucket, 32));
  const bucketsAt = w.length;
  g.buckets.forEach((b, i) => writeBucket15(w, b, i, type, `groupMod.buckets[${i}]`));
  w.patchU16(lenAt, w.length - bucketsAt);
  if (g.selectionMethod) writeSelectionMethod(w, g.selectionMethod, 'groupMod.selectionMethod');
  for (const p of g.properties ?? []) writeRawProperty(w, p, 'groupMod.properties');
}

export function readGroupMod(r: Reader, version: OfVersion): GroupMod {
  const at = r.offset;
  const commandWire = r.u16('command');
  const command = groupCommandByWire.get(commandWire);
  if (!command) throw r.fail('command', `unknown group command ${commandWire}`, at);
  const type = readGroupType(r, 'type');
  r.skip(1, 'pad');
  const groupId = r.u32('group_id');
  if (version === OFP13) {
    const buckets: Bucket[] = [];
    while (r.remaining > 0) buckets.push(readBucket13(r, buckets.length, type, `buckets[${buckets.length}]`));
    return { command, type, groupId, buckets };
  }
  const bucketLen = r.u16('bucket_array_len');
  r.skip(2, 'pad');
  const commandBucketId = r.u32('command_bucket_id');
  const br = r.sub(bucketLen, 'buckets');
  const buckets: Bucket[] = [];
  while (br.remaining > 0) buckets.push(readBucket15(br, `bucket[${buckets.length}]`));
  const g: GroupMod = { command, type, groupId, buckets, ...readGroupProperties(r, 'properties') };
  if (commandBucketId !== OFPG_BUCKET.ALL || command === 'insertBucket') g.commandBucketId = commandBucketId;
  return g;
}

// ---- GROUP_DESC / GROUP stats entries ---------------------------------------

export function readGroupDescEntries(r: Reader, version: OfVersion): GroupDesc[] {
  const out: GroupDesc[] = [];
  while (r.remaining > 0) {
    const field = `groupDesc[${out.length}]`;
    const at = r.offset;
    const len = r.u16(`${field}.length`);
    const minLen = version === OFP13 ? 8 : 16;
    if (len < minLen) throw r.fail(`${field}.length`, `entry length ${len} < ${minLen}`, at);
    const e = r.sub(len - 2, field);
    const type = readGroupType(e, 'type');
    e.skip(1, 'pad');
    const groupId = e.u32('group_id');
    if (version === OFP13) {
      const buckets: Bucket[] = [];
      while (e.remaining > 0) buckets.push(readBucket13(e, buckets.length, type, `bucket[${buckets.length}]`));
      out.push({ groupId, type, buckets });
      continue;
    }
    const bucketLen = e.u16('bucket_list_len');
    e.skip(6, 'pad');
    const br = e.sub(bucketLen, 'buckets');
    const buckets: Bucket[] = [];
    while (br.remaining > 0) buckets.push(readBucket15(br, `bucket[${buckets.length}]`));
    out.push({ groupId, type, buckets, ...readGroupProperties(e, 'properties') });
  }
  return out;
}

/** Encodes GROUP_DESC entries (used by tests and tools that replay dumps). */
export function writeGroupDescEntries(w: Writer, version: OfVersion, groups: readonly GroupDesc[]): void {
  groups.forEach((g, gi) => {
    const start = w.length;
    w.u16(0).u8(groupTypeWire(`groupDesc[${gi}].type`, g.type)).u8(0).u32(g.groupId);
    if (version === OFP13) {
      g.buckets.forEach((b, i) => writeBucket13(w, b, g.type, `groupDesc[${gi}].buckets[${i}]`));
    } else {
      const lenAt = w.length;
      w.u16(0).zeros(6);
      const bucketsAt = w.length;
      g.buckets.forEach((b, i) => writeBucket15(w, b, i, g.type, `groupDesc[${gi}].buckets[${i}]`));
      w.patchU16(lenAt, w.length - bucketsAt);
      if (g.selectionMethod) writeSelectionMethod(w, g.selectionMethod, `groupDesc[${gi}].selectionMethod`);
      for (const p of g.properties ?? []) writeRawProperty(w, p, `groupDesc[${gi}].properties`);
    }
    w.patchU16(start, w.length - start);
  });
}

export function readGroupStatsEntries(r: Reader): GroupStats[] {
  const out: GroupStats[] = [];
  while (r.remaining > 0) {
    const field = `groupStats[${out.length}]`;
    const at = r.offset;
    const len = r.u16(`${field}.length`);
    if (len < 40 || (len - 40) % 16 !== 0) throw r.fail(`${field}.length`, `entry length ${len} is not 40 + 16·buckets`, at);
    const e = r.sub(len - 2, field);
    e.skip(2, 'pad');
    const groupId = e.u32('group_id');
    const refCount = e.u32('ref_count');
    e.skip(4, 'pad2');
    const packetCount = e.u64('packet_count');
    const byteCount = e.u64('byte_count');
    const durationSec = e.u32('duration_sec');
    const durationNsec = e.u32('duration_nsec');
    const buckets: BucketCounters[] = [];
    while (e.remaining > 0) buckets.push({ packetCount: e.u64(`bucket[${buckets.length}].packet_count`), byteCount: e.u64(`bucket[${buckets.length}].byte_count`) });
    out.push({ groupId, refCount, packetCount, byteCount, durationSec, durationNsec, buckets });
  }
  return out;
}

export function writeGroupStatsEntries(w: Writer, stats: readonly GroupStats[]): void {
  for (const s of stats) {
    w.u16(40 + 16 * s.buckets.length).zeros(2).u32(s.groupId).u32(s.refCount).zeros(4).u64(s.packetCount).u64(s.byteCount).u32(s.durationSec).u32(s.durationNsec);
    for (const b of s.buckets) w.u64(b.packetCount).u64(b.byteCount);
  }
}
