import {
  OFP13,
  OFP15,
  OFPG,
  OFPMP,
  OFPT,
  ONF_EXPERIMENTER,
  ONFT_BUNDLE_ADD_MESSAGE,
  ONFT_BUNDLE_CONTROL,
  type OfVersion,
} from './constants.js';
import { errorName, type OfErrorInfo } from './error-codes.js';
import { OpenFlowDecodeError, OpenFlowEncodeError } from './errors.js';
import { readFlowMod, readFlowStatsEntries, readFlowStatsRequest, writeFlowMod, writeFlowStatsEntries, writeFlowStatsRequest, type FlowMod, type FlowStats, type FlowStatsRequest } from './flow.js';
import {
  readGroupDescEntries,
  readGroupMod,
  readGroupStatsEntries,
  writeGroupDescEntries,
  writeGroupMod,
  writeGroupStatsEntries,
  type GroupDesc,
  type GroupMod,
  type GroupStats,
} from './group.js';
import { readPortDescEntries, type PortDesc } from './port.js';
import { checkUint, Reader, Writer } from './wire.js';

/**
 * Whole OpenFlow messages: the header plus one body codec per message type.
 * `decodeMessage` throws only OpenFlowDecodeError; message types this
 * library does not model come back as `unknown` with their body intact.
 */

export type BundleControlType =
  | 'openRequest' | 'openReply' | 'closeRequest' | 'closeReply'
  | 'commitRequest' | 'commitReply' | 'discardRequest' | 'discardReply';
const BUNDLE_CONTROL_TYPES: BundleControlType[] = ['openRequest', 'openReply', 'closeRequest', 'closeReply', 'commitRequest', 'commitReply', 'discardRequest', 'discardReply'];

/** Bundle flags: ATOMIC 1, ORDERED 2. */
export const OFPBF = { ATOMIC: 1, ORDERED: 2 } as const;

export type { OfErrorInfo };

export type MultipartRequest =
  | { kind: 'groupDesc'; groupId?: number }
  | { kind: 'groupStats'; groupId?: number }
  | ({ kind: 'flowStats' } & FlowStatsRequest)
  | { kind: 'portDesc' }
  | { kind: 'raw'; mpType: number; body: Buffer };

export type MultipartReply =
  | { kind: 'groupDesc'; groups: GroupDesc[] }
  | { kind: 'groupStats'; stats: GroupStats[] }
  | { kind: 'flowStats'; flows: FlowStats[] }
  | { kind: 'portDesc'; ports: PortDesc[] }
  | { kind: 'raw'; mpType: number; body: Buffer };

export type OfMessage =
  | { type: 'hello'; versions: number[] }
  | ({ type: 'error' } & OfErrorInfo)
  | { type: 'echoRequest'; data: Buffer }
  | { type: 'echoReply'; data: Buffer }
  | { type: 'featuresRequest' }
  | { type: 'featuresReply'; datapathId: bigint; nBuffers: number; nTables: number; auxiliaryId: number; capabilities: number }
  | { type: 'barrierRequest' }
  | { type: 'barrierReply' }
  | { type: 'groupMod'; groupMod: GroupMod }
  | { type: 'flowMod'; flowMod: FlowMod }
  | { type: 'multipartRequest'; flags: number; request: MultipartRequest }
  | { type: 'multipartReply'; flags: number; reply: MultipartReply }
  | { type: 'bundleControl'; bundleId: number; controlType: BundleControlType; flags: number }
  /** The inner message takes the outer version and xid (OVS checks both). */
  | { type: 'bundleAdd'; bundleId: number; flags: number; message: OfMessage }
  | { type: 'experimenter'; experimenter: number; expType: number; data: Buffer }
  | { type: 'unknown'; msgType: number; body: Buffer };

export interface DecodedMessage {
  version: number;
  xid: number;
  message: OfMessage;
}

/** OFPMPF_REPLY_MORE / REQ_MORE */
export const OFPMPF_MORE = 1;

const MP_KINDS: Record<Exclude<MultipartRequest['kind'], 'raw'>, number> = {
  flowStats: OFPMP.FLOW,
  groupStats: OFPMP.GROUP,
  groupDesc: OFPMP.GROUP_DESC,
  portDesc: OFPMP.PORT_DESC,
};

function supportedVersion(v: number): v is OfVersion {
  return v === OFP13 || v === OFP15;
}

/** A short name for counters and logs, e.g. `groupMod.modify`, `bundleControl.commitRequest`. */
export function messageKind(m: OfMessage): string {
  switch (m.type) {
    case 'groupMod':
      return `groupMod.${m.groupMod.command}`;
    case 'flowMod':
      return `flowMod.${m.flowMod.command}`;
    case 'multipartRequest':
      return `multipartRequest.${m.request.kind}`;
    case 'multipartReply':
      return `multipartReply.${m.reply.kind}`;
    case 'bundleControl':
      return `bundleControl.${m.controlType}`;
    default:
      return m.type;
  }
}

// ---- encode ------------------------------------------------------------------

export function encodeMessage(version: OfVersion, xid: number, m: OfMessage): Buffer {
  const w = new Writer(m.type === 'bundleAdd' || m.type === 'groupMod' ? 512 : 128);
  writeMessage(w, version, xid, m);
  return w.finish();
}

/** Appends one message to `w` (lets the client batch many into one socket write). */
export function writeMessage(w: Writer, version: OfVersion, xid: number, m: OfMessage): void {
  const start = w.length;
  w.u8(version).u8(wireType(version, m)).u16(0).u32(checkUint('xid', xid, 32));
  writeBody(w, version, xid, m);
  const len = w.length - start;
  if (len > 0xffff) throw new OpenFlowEncodeError(`${m.type}.length`, `message is ${len} bytes, OpenFlow allows 65535`);
  w.patchU16(start + 2, len);
}

function wireType(version: OfVersion, m: OfMessage): number {
  switch (m.type) {
    case 'hello': return OFPT.HELLO;
    case 'error': return OFPT.ERROR;
    case 'echoRequest': return OFPT.ECHO_REQUEST;
    case 'echoReply': return OFPT.ECHO_REPLY;
    case 'featuresRequest': return OFPT.FEATURES_REQUEST;
    case 'featuresReply': return OFPT.FEATURES_REPLY;
    case 'barrierRequest': return OFPT.BARRIER_REQUEST;
    case 'barrierReply': return OFPT.BARRIER_REPLY;
    case 'groupMod': return OFPT.GROUP_MOD;
    case 'flowMod': return OFPT.FLOW_MOD;
    case 'multipartRequest': return OFPT.MULTIPART_REQUEST;
    case 'multipartReply': return OFPT.MULTIPART_REPLY;
    // 1.3 has no bundle messages; OVS takes the ONF experimenter form (wire.md A6).
    case 'bundleControl': return version === OFP13 ? OFPT.EXPERIMENTER : OFPT.BUNDLE_CONTROL;
    case 'bundleAdd': return version === OFP13 ? OFPT.EXPERIMENTER : OFPT.BUNDLE_ADD_MESSAGE;
    case 'experimenter': return OFPT.EXPERIMENTER;
    case 'unknown': return checkUint('unknown.msgType', m.msgType, 8);
  }
}

function writeBundleControlBody(w: Writer, bundleId: number, type: BundleControlType, flags: number): void {
  const t = BUNDLE_CONTROL_TYPES.indexOf(type);
  if (t < 0) throw new OpenFlowEncodeError('bundleControl.controlType', `unknown type "${type}"`);
  w.u32(checkUint('bundle.bundleId', bundleId, 32)).u16(t).u16(checkUint('bundle.flags', flags, 16));
}

function writeBody(w: Writer, version: OfVersion, xid: number, m: OfMessage): void {
  switch (m.type) {
    case 'hello': {
      // One VERSIONBITMAP element; OVS reads only its first word.
      let bitmap = 0;
      for (const v of m.versions) bitmap |= 1 << checkUint('hello.versions', v, 5);
      w.u16(1).u16(8).u32(bitmap >>> 0);
      return;
    }
    case 'error':
      w.u16(m.errType).u16(m.code);
      if (m.errType === 0xffff) w.u32(m.experimenter ?? 0);
      w.bytes(m.data);
      return;
    case 'echoRequest':
    case 'echoReply':
      w.bytes(m.data);
      return;
    case 'featuresRequest':
    case 'barrierRequest':
    case 'barrierReply':
      return;
    case 'featuresReply':
      w.u64(m.datapathId).u32(m.nBuffers).u8(m.nTables).u8(m.auxiliaryId).u16(0).u32(m.capabilities).u32(0);
      return;
    case 'groupMod':
      writeGroupMod(w, version, m.groupMod);
      return;
    case 'flowMod':
      writeFlowMod(w, version, m.flowMod);
      return;
    case 'multipartRequest':
      writeMultipartRequest(w, version, m.flags, m.request);
      return;
    case 'multipartReply':
      writeMultipartReply(w, version, m.flags, m.reply);
      return;
    case 'bundleControl':
      if (version === OFP13) w.u32(ONF_EXPERIMENTER).u32(ONFT_BUNDLE_CONTROL);
      writeBundleControlBody(w, m.bundleId, m.controlType, m.flags);
      return;
    case 'bundleAdd':
      if (m.message.type === 'bundleAdd' || m.message.type === 'bundleControl') {
        throw new OpenFlowEncodeError('bundleAdd.message', 'a bundle cannot carry bundle messages');
      }
      if (version === OFP13) w.u32(ONF_EXPERIMENTER).u32(ONFT_BUNDLE_ADD_MESSAGE);
      // The control body has type 0 (wire.md A6); the inner message repeats the outer version and xid.
      w.u32(checkUint('bundle.bundleId', m.bundleId, 32)).u16(0).u16(checkUint('bundle.flags', m.flags, 16));
      writeMessage(w, version, xid, m.message);
      return;
    case 'experimenter':
      w.u32(m.experimenter).u32(m.expType).bytes(m.data);
      return;
    case 'unknown':
      w.bytes(m.body);
      return;
  }
}

function writeMultipartRequest(w: Writer, version: OfVersion, flags: number, q: MultipartRequest): void {
  w.u16(q.kind === 'raw' ? q.mpType : MP_KINDS[q.kind]).u16(flags).zeros(4);
  switch (q.kind) {
    case 'groupDesc':
      // 1.3's GROUP_DESC request is empty (all groups); 1.5 names a group.
      if (version !== OFP13) w.u32(q.groupId ?? OFPG.ALL).zeros(4);
      else if (q.groupId !== undefined && q.groupId !== OFPG.ALL) throw new OpenFlowEncodeError('groupDesc.groupId', 'OpenFlow 1.3 can only describe all groups');
      return;
    case 'groupStats':
      w.u32(q.groupId ?? OFPG.ALL).zeros(4);
      return;
    case 'flowStats':
      writeFlowStatsRequest(w, q);
      return;
    case 'portDesc':
      if (version !== OFP13) w.u32(0xffffffff).zeros(4);
      return;
    case 'raw':
      w.bytes(q.body);
      return;
  }
}

function writeMultipartReply(w: Writer, version: OfVersion, flags: number, p: MultipartReply): void {
  w.u16(p.kind === 'raw' ? p.mpType : MP_KINDS[p.kind]).u16(flags).zeros(4);
  switch (p.kind) {
    case 'groupDesc':
      writeGroupDescEntries(w, version, p.groups);
      return;
    case 'groupStats':
      writeGroupStatsEntries(w, p.stats);
      return;
    case 'flowStats':
      writeFlowStatsEntries(w, version, p.flows);
      return;
    case 'raw':
      w.bytes(p.body);
      return;
    case 'portDesc':
      throw new OpenFlowEncodeError('multipartReply.portDesc', 'encoding port descriptions is not supported');
  }
}

// ---- decode ------------------------------------------------------------------

/** Reads the 8-byte header; used by the stream framer before the body has arrived. */
export function peekHeader(buf: Buffer): { version: number; type: number; length: number; xid: number } | undefined {
  if (buf.length < 8) return undefined;
  return { version: buf[0]!, type: buf[1]!, length: buf.readUInt16BE(2), xid: buf.readUInt32BE(4) };
}

/** Decodes exactly one message; `buf` must hold the whole message (header length). */
export function decodeMessage(buf: Buffer, base = 0): DecodedMessage {
  const r = new Reader(buf, base);
  const version = r.u8('header.version');
  const type = r.u8('header.type');
  const length = r.u16('header.length');
  const xid = r.u32('header.xid');
  if (length < 8) throw new OpenFlowDecodeError('header.length', base + 2, `length ${length} < 8`);
  if (length > buf.length) throw new OpenFlowDecodeError('header.length', base + 2, `length ${length} exceeds the ${buf.length} bytes available`);
  const body = new Reader(buf.subarray(8, length), base + 8, typeName(type));
  if (type === OFPT.HELLO) return { version, xid, message: decodeHello(body, version) };
  if (!supportedVersion(version)) {
    // Only ERROR has a version-independent layout worth reading (HELLO_FAILED from an old peer).
    if (type === OFPT.ERROR) return { version, xid, message: decodeError(body) };
    return { version, xid, message: { type: 'unknown', msgType: type, body: Buffer.from(body.bytes(body.remaining, 'body')) } };
  }
  return { version, xid, message: decodeBody(body, version, type, xid) };
}

function typeName(type: number): string {
  const entry = Object.entries(OFPT).find(([, v]) => v === type);
  return entry ? entry[0] : `type${type}`;
}

/** 8 × 32 bits: one per possible value of the header's u8 version. */
const HELLO_BITMAP_WORDS = 8;

function decodeHello(r: Reader, version: number): OfMessage {
  const versions = new Set<number>();
  let sawBitmap = false;
  while (r.remaining >= 4) {
    const at = r.offset;
    const type = r.u16('element.type');
    const len = r.u16('element.length');
    if (len < 4) throw r.fail('element.length', `length ${len} < 4`, at + 2);
    const e = r.sub(len - 4, 'element');
    r.skip(Math.min(((len + 7) & ~7) - len, r.remaining), 'element.padding');
    if (type !== 1) continue;
    sawBitmap = true;
    // Versions are a u8 in every header, so bits past the eighth word name
    // versions that cannot exist: they are not examined (a 64 KiB bitmap
    // would otherwise cost half a million bit tests and as many set entries).
    for (let word = 0; word < HELLO_BITMAP_WORDS && e.remaining >= 4; word++) {
      const bits = e.u32('bitmap');
      for (let b = 0; b < 32; b++) if (bits & (1 << b)) versions.add(word * 32 + b);
    }
  }
  // Without a bitmap the peer supports every version up to its header's (wire.md A1).
  if (!sawBitmap) for (let v = 1; v <= version; v++) versions.add(v);
  return { type: 'hello', versions: [...versions].sort((a, b) => a - b) };
}

function decodeError(r: Reader): OfMessage {
  const errType = r.u16('type');
  const code = r.u16('code');
  const experimenter = errType === 0xffff ? r.u32('experimenter') : undefined;
  const data = Buffer.from(r.bytes(r.remaining, 'data'));
  const info: OfErrorInfo = { errType, code, ...errorName(errType, code, experimenter), data };
  if (experimenter !== undefined) info.experimenter = experimenter;
  const h = peekHeader(data);
  if (h) info.failed = h;
  return { type: 'error', ...info };
}

function decodeBody(r: Reader, version: OfVersion, type: number, xid: number): OfMessage {
  switch (type) {
    case OFPT.ERROR:
      return decodeError(r);
    case OFPT.ECHO_REQUEST:
      return { type: 'echoRequest', data: Buffer.from(r.bytes(r.remaining, 'data')) };
    case OFPT.ECHO_REPLY:
      return { type: 'echoReply', data: Buffer.from(r.bytes(r.remaining, 'data')) };
    case OFPT.FEATURES_REQUEST:
      return { type: 'featuresRequest' };
    case OFPT.FEATURES_REPLY: {
      const datapathId = r.u64('datapath_id');
      const nBuffers = r.u32('n_buffers');
      const nTables = r.u8('n_tables');
      const auxiliaryId = r.u8('auxiliary_id');
      r.skip(2, 'pad');
      const capabilities = r.u32('capabilities');
      return { type: 'featuresReply', datapathId, nBuffers, nTables, auxiliaryId, capabilities };
    }
    case OFPT.BARRIER_REQUEST:
      return { type: 'barrierRequest' };
    case OFPT.BARRIER_REPLY:
      return { type: 'barrierReply' };
    case OFPT.GROUP_MOD:
      return { type: 'groupMod', groupMod: readGroupMod(r, version) };
    case OFPT.FLOW_MOD:
      return { type: 'flowMod', flowMod: readFlowMod(r, version) };
    case OFPT.MULTIPART_REQUEST:
      return decodeMultipartRequest(r, version);
    case OFPT.MULTIPART_REPLY:
      return decodeMultipartReply(r, version);
    case OFPT.BUNDLE_CONTROL:
      if (version === OFP13) break;
      return decodeBundleControl(r);
    case OFPT.BUNDLE_ADD_MESSAGE:
      if (version === OFP13) break;
      return decodeBundleAdd(r, xid);
    case OFPT.EXPERIMENTER: {
      const experimenter = r.u32('experimenter');
      const expType = r.u32('exp_type');
      if (experimenter === ONF_EXPERIMENTER && expType === ONFT_BUNDLE_CONTROL) return decodeBundleControl(r);
      if (experimenter === ONF_EXPERIMENTER && expType === ONFT_BUNDLE_ADD_MESSAGE) return decodeBundleAdd(r, xid);
      return { type: 'experimenter', experimenter, expType, data: Buffer.from(r.bytes(r.remaining, 'data')) };
    }
  }
  return { type: 'unknown', msgType: type, body: Buffer.from(r.bytes(r.remaining, 'body')) };
}

function decodeBundleControl(r: Reader): OfMessage {
  const bundleId = r.u32('bundle_id');
  const at = r.offset;
  const t = r.u16('type');
  const controlType = BUNDLE_CONTROL_TYPES[t];
  if (!controlType) throw r.fail('type', `unknown bundle control type ${t}`, at);
  return { type: 'bundleControl', bundleId, controlType, flags: r.u16('flags') };
}

/** Whether the message in `buf` (header already read) decodes as a bundle control or add, in 1.5's or 1.3's experimenter form. */
function isBundleMessage(version: number, type: number, buf: Buffer): boolean {
  if (!supportedVersion(version)) return false;
  if (version === OFP15 && (type === OFPT.BUNDLE_CONTROL || type === OFPT.BUNDLE_ADD_MESSAGE)) return true;
  if (type !== OFPT.EXPERIMENTER || buf.length < 16) return false;
  const experimenter = buf.readUInt32BE(8);
  const expType = buf.readUInt32BE(12);
  return experimenter === ONF_EXPERIMENTER && (expType === ONFT_BUNDLE_CONTROL || expType === ONFT_BUNDLE_ADD_MESSAGE);
}

function decodeBundleAdd(r: Reader, xid: number): OfMessage {
  const bundleId = r.u32('bundle_id');
  r.skip(2, 'pad');
  const flags = r.u16('flags');
  const at = r.absolute;
  const inner = r.bytes(r.remaining, 'message');
  const h = peekHeader(inner);
  if (!h) throw new OpenFlowDecodeError('message.header', at, `${inner.length} bytes cannot hold a header`);
  if (h.length > inner.length) throw new OpenFlowDecodeError('message.header.length', at + 2, `inner length ${h.length} exceeds ${inner.length}`);
  // A bundle carries group and flow mods, never another bundle message (OVS
  // refuses one with OFPBFC_MSG_UNSUP; the encoder refuses it too). Checked
  // before decoding the inner message, so nesting cannot recurse: a 64 KiB
  // message of nested BUNDLE_ADDs would otherwise go ~4,000 frames deep.
  if (isBundleMessage(h.version, h.type, inner)) {
    throw new OpenFlowDecodeError('message.header.type', at + 1, 'a bundle cannot carry bundle messages (nesting limit 1)');
  }
  // Trailing bundle properties (ignored by OVS) may follow the inner message.
  const decoded = decodeMessage(inner.subarray(0, h.length), at);
  if (decoded.xid !== xid) throw new OpenFlowDecodeError('message.header.xid', at + 4, `inner xid ${decoded.xid} differs from outer ${xid}`);
  return { type: 'bundleAdd', bundleId, flags, message: decoded.message };
}

function decodeMultipartRequest(r: Reader, version: OfVersion): OfMessage {
  const mpType = r.u16('mp_type');
  const flags = r.u16('flags');
  r.skip(4, 'pad');
  let request: MultipartRequest;
  switch (mpType) {
    case OFPMP.GROUP_DESC:
      request = version === OFP13 || r.remaining === 0 ? { kind: 'groupDesc' } : { kind: 'groupDesc', groupId: r.u32('group_id') };
      break;
    case OFPMP.GROUP:
      request = { kind: 'groupStats', groupId: r.u32('group_id') };
      break;
    case OFPMP.FLOW:
      request = { kind: 'flowStats', ...readFlowStatsRequest(r) };
      break;
    case OFPMP.PORT_DESC:
      request = { kind: 'portDesc' };
      break;
    default:
      request = { kind: 'raw', mpType, body: Buffer.from(r.bytes(r.remaining, 'body')) };
  }
  return { type: 'multipartRequest', flags, request };
}

function decodeMultipartReply(r: Reader, version: OfVersion): OfMessage {
  const mpType = r.u16('mp_type');
  const flags = r.u16('flags');
  r.skip(4, 'pad');
  const body = r.rest('body');
  let reply: MultipartReply;
  switch (mpType) {
    case OFPMP.GROUP_DESC:
      reply = { kind: 'groupDesc', groups: readGroupDescEntries(body, version) };
      break;
    case OFPMP.GROUP:
      reply = { kind: 'groupStats', stats: readGroupStatsEntries(body) };
      break;
    case OFPMP.FLOW:
      reply = { kind: 'flowStats', flows: readFlowStatsEntries(body, version) };
      break;
    case OFPMP.PORT_DESC:
      reply = { kind: 'portDesc', ports: readPortDescEntries(body, version) };
      break;
    default:
      reply = { kind: 'raw', mpType, body: Buffer.from(body.bytes(body.remaining, 'body')) };
  }
  return { type: 'multipartReply', flags, reply };
}
