import { readInstructions, writeInstructions, type Instruction } from './actions.js';
import { OFP13, OFP_NO_BUFFER, OFPTT_ALL, type OfVersion } from './constants.js';
import { OpenFlowEncodeError } from './errors.js';
import { readMatch, writeMatch, type Match } from './oxm.js';
import { checkU64, checkUint, pad8, type Reader, type Writer } from './wire.js';

/**
 * Flows: FLOW_MOD bodies, FLOW stats requests, and FLOW stats entries in
 * both the 1.3 layout and Open vSwitch's 1.5 layout with OXS statistics
 * (wire.md A4, A5).
 */
export type FlowModCommand = 'add' | 'modify' | 'modifyStrict' | 'delete' | 'deleteStrict';
const FLOW_COMMANDS: Record<FlowModCommand, number> = { add: 0, modify: 1, modifyStrict: 2, delete: 3, deleteStrict: 4 };
const flowCommandByWire = new Map(Object.entries(FLOW_COMMANDS).map(([k, v]) => [v, k as FlowModCommand]));

/** FLOW_MOD flags. */
export const OFPFF = { SEND_FLOW_REM: 1, CHECK_OVERLAP: 2, RESET_COUNTS: 4, NO_PKT_COUNTS: 8, NO_BYT_COUNTS: 16 } as const;

/** The priority OVS gives a flow when none is named. */
export const OFP_DEFAULT_PRIORITY = 0x8000;

export interface FlowMod {
  command: FlowModCommand;
  /** 0xff (all tables) for a delete by cookie. */
  tableId: number;
  /** Defaults to 0x8000 (OVS's default) for add/modify, 0 for delete. */
  priority?: number;
  cookie: bigint;
  /** Non-zero restricts modify/delete to flows whose cookie matches under the mask. */
  cookieMask?: bigint;
  idleTimeout?: number;
  hardTimeout?: number;
  bufferId?: number;
  /** Restricts delete to flows that output to this port (default ANY). */
  outPort?: number;
  /** Restricts delete to flows that use this group (default ANY). */
  outGroup?: number;
  flags?: number;
  importance?: number;
  match: Match;
  instructions: Instruction[];
}

export interface FlowStatsRequest {
  /** Default: all tables. */
  tableId?: number;
  outPort?: number;
  outGroup?: number;
  cookie?: bigint;
  cookieMask?: bigint;
  match?: Match;
}

export interface FlowStats {
  tableId: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;
  importance: number;
  cookie: bigint;
  durationSec: number;
  durationNsec: number;
  /** UINT64_MAX when OVS does not count (NO_PKT_COUNTS). */
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
  instructions: Instruction[];
}

const ANY = 0xffffffff;

export function writeFlowMod(w: Writer, version: OfVersion, f: FlowMod): void {
  const command = FLOW_COMMANDS[f.command];
  if (command === undefined) throw new OpenFlowEncodeError('flowMod.command', `unknown command "${String(f.command)}"`);
  const isDelete = f.command === 'delete' || f.command === 'deleteStrict';
  w.u64(checkU64('flowMod.cookie', f.cookie)).u64(checkU64('flowMod.cookieMask', f.cookieMask ?? 0n));
  w.u8(checkUint('flowMod.tableId', f.tableId, 8)).u8(command);
  w.u16(checkUint('flowMod.idleTimeout', f.idleTimeout ?? 0, 16)).u16(checkUint('flowMod.hardTimeout', f.hardTimeout ?? 0, 16));
  w.u16(checkUint('flowMod.priority', f.priority ?? (isDelete ? 0 : OFP_DEFAULT_PRIORITY), 16));
  w.u32(checkUint('flowMod.bufferId', f.bufferId ?? OFP_NO_BUFFER, 32));
  w.u32(checkUint('flowMod.outPort', f.outPort ?? ANY, 32)).u32(checkUint('flowMod.outGroup', f.outGroup ?? ANY, 32));
  w.u16(checkUint('flowMod.flags', f.flags ?? 0, 16));
  // importance exists from 1.4 on; in 1.3 these two bytes are padding.
  w.u16(version === OFP13 ? 0 : checkUint('flowMod.importance', f.importance ?? 0, 16));
  writeMatch(w, f.match);
  writeInstructions(w, f.instructions);
}

export function readFlowMod(r: Reader, version: OfVersion): FlowMod {
  const cookie = r.u64('cookie');
  const cookieMask = r.u64('cookie_mask');
  const tableId = r.u8('table_id');
  const at = r.offset;
  const commandWire = r.u8('command');
  const command = flowCommandByWire.get(commandWire);
  if (!command) throw r.fail('command', `unknown flow command ${commandWire}`, at);
  const idleTimeout = r.u16('idle_timeout');
  const hardTimeout = r.u16('hard_timeout');
  const priority = r.u16('priority');
  const bufferId = r.u32('buffer_id');
  const outPort = r.u32('out_port');
  const outGroup = r.u32('out_group');
  const flags = r.u16('flags');
  const importance = r.u16('importance');
  const match = readMatch(r);
  const instructions = readInstructions(r.rest('instructions'));
  const f: FlowMod = { command, tableId, priority, cookie, match, instructions };
  if (cookieMask !== 0n) f.cookieMask = cookieMask;
  if (idleTimeout) f.idleTimeout = idleTimeout;
  if (hardTimeout) f.hardTimeout = hardTimeout;
  if (bufferId !== OFP_NO_BUFFER) f.bufferId = bufferId;
  if (outPort !== ANY) f.outPort = outPort;
  if (outGroup !== ANY) f.outGroup = outGroup;
  if (flags) f.flags = flags;
  if (version !== OFP13 && importance) f.importance = importance;
  return f;
}

export function writeFlowStatsRequest(w: Writer, q: FlowStatsRequest): void {
  w.u8(checkUint('flowStats.tableId', q.tableId ?? OFPTT_ALL, 8)).zeros(3);
  w.u32(checkUint('flowStats.outPort', q.outPort ?? ANY, 32)).u32(checkUint('flowStats.outGroup', q.outGroup ?? ANY, 32)).zeros(4);
  w.u64(checkU64('flowStats.cookie', q.cookie ?? 0n)).u64(checkU64('flowStats.cookieMask', q.cookieMask ?? 0n));
  writeMatch(w, q.match ?? {});
}

export function readFlowStatsRequest(r: Reader): FlowStatsRequest {
  const tableId = r.u8('table_id');
  r.skip(3, 'pad');
  const outPort = r.u32('out_port');
  const outGroup = r.u32('out_group');
  r.skip(4, 'pad2');
  const cookie = r.u64('cookie');
  const cookieMask = r.u64('cookie_mask');
  const match = readMatch(r);
  const q: FlowStatsRequest = { match };
  if (tableId !== OFPTT_ALL) q.tableId = tableId;
  if (outPort !== ANY) q.outPort = outPort;
  if (outGroup !== ANY) q.outGroup = outGroup;
  if (cookie !== 0n || cookieMask !== 0n) {
    q.cookie = cookie;
    q.cookieMask = cookieMask;
  }
  return q;
}

// OXS statistics (1.5): class OFPXSC_OPENFLOW_BASIC, one 8-byte TLV per counter.
const OXS_CLASS = 0x8002;
const OXS = { DURATION: 0, IDLE_TIME: 1, FLOW_COUNT: 3, PACKET_COUNT: 4, BYTE_COUNT: 5 } as const;

function readOxsStats(r: Reader, e: Pick<FlowStats, 'durationSec' | 'durationNsec' | 'packetCount' | 'byteCount'>): void {
  r.skip(2, 'stats.reserved');
  const at = r.offset;
  const len = r.u16('stats.length');
  if (len < 4) throw r.fail('stats.length', `length ${len} < 4`, at);
  const body = r.sub(len - 4, 'stats');
  r.skip(pad8(len) - len, 'stats.padding');
  let i = 0;
  while (body.remaining > 0) {
    const name = `oxs[${i++}]`;
    const header = body.u32(`${name}.header`);
    const oxsClass = header >>> 16;
    const field = (header >>> 9) & 0x7f;
    const valueLen = header & 0xff;
    const v = body.sub(valueLen, `${name}.value`);
    if (oxsClass !== OXS_CLASS) continue;
    if (field === OXS.DURATION && valueLen === 8) {
      e.durationSec = v.u32('duration_sec');
      e.durationNsec = v.u32('duration_nsec');
    } else if (field === OXS.PACKET_COUNT && valueLen === 8) {
      e.packetCount = v.u64('packet_count');
    } else if (field === OXS.BYTE_COUNT && valueLen === 8) {
      e.byteCount = v.u64('byte_count');
    }
  }
}

function writeOxsStats(w: Writer, s: FlowStats): void {
  const start = w.length;
  w.u16(0).u16(4 + 3 * 12);
  w.u32((OXS_CLASS << 16) | (OXS.DURATION << 9) | 8).u32(s.durationSec).u32(s.durationNsec);
  w.u32((OXS_CLASS << 16) | (OXS.PACKET_COUNT << 9) | 8).u64(s.packetCount);
  w.u32((OXS_CLASS << 16) | (OXS.BYTE_COUNT << 9) | 8).u64(s.byteCount);
  w.padTo8(start);
}

export function readFlowStatsEntries(r: Reader, version: OfVersion): FlowStats[] {
  const out: FlowStats[] = [];
  while (r.remaining > 0) {
    const field = `flowStats[${out.length}]`;
    const at = r.offset;
    const len = r.u16(`${field}.length`);
    const minLen = version === OFP13 ? 56 : 40;
    if (len < minLen) throw r.fail(`${field}.length`, `entry length ${len} < ${minLen}`, at);
    const e = r.sub(len - 2, field);
    if (version === OFP13) {
      const tableId = e.u8('table_id');
      e.skip(1, 'pad');
      const durationSec = e.u32('duration_sec');
      const durationNsec = e.u32('duration_nsec');
      const priority = e.u16('priority');
      const idleTimeout = e.u16('idle_timeout');
      const hardTimeout = e.u16('hard_timeout');
      const flags = e.u16('flags');
      e.skip(4, 'pad2');
      const cookie = e.u64('cookie');
      const packetCount = e.u64('packet_count');
      const byteCount = e.u64('byte_count');
      const match = readMatch(e);
      const instructions = readInstructions(e.rest('instructions'));
      out.push({ tableId, priority, idleTimeout, hardTimeout, flags, importance: 0, cookie, durationSec, durationNsec, packetCount, byteCount, match, instructions });
      continue;
    }
    e.skip(2, 'pad');
    const tableId = e.u8('table_id');
    e.skip(1, 'reason');
    const priority = e.u16('priority');
    const idleTimeout = e.u16('idle_timeout');
    const hardTimeout = e.u16('hard_timeout');
    const flags = e.u16('flags');
    const importance = e.u16('importance');
    const cookie = e.u64('cookie');
    const match = readMatch(e);
    const entry: FlowStats = { tableId, priority, idleTimeout, hardTimeout, flags, importance, cookie, durationSec: 0, durationNsec: 0, packetCount: 0n, byteCount: 0n, match, instructions: [] };
    readOxsStats(e, entry);
    entry.instructions = readInstructions(e.rest('instructions'));
    out.push(entry);
  }
  return out;
}

/** Encodes FLOW stats entries (tests and replay tools). */
export function writeFlowStatsEntries(w: Writer, version: OfVersion, entries: readonly FlowStats[]): void {
  for (const s of entries) {
    const start = w.length;
    if (version === OFP13) {
      w.u16(0).u8(s.tableId).u8(0).u32(s.durationSec).u32(s.durationNsec).u16(s.priority).u16(s.idleTimeout).u16(s.hardTimeout).u16(s.flags).zeros(4);
      w.u64(s.cookie).u64(s.packetCount).u64(s.byteCount);
      writeMatch(w, s.match);
    } else {
      w.u16(0).zeros(2).u8(s.tableId).u8(0).u16(s.priority).u16(s.idleTimeout).u16(s.hardTimeout).u16(s.flags).u16(s.importance).u64(s.cookie);
      writeMatch(w, s.match);
      writeOxsStats(w, s);
    }
    writeInstructions(w, s.instructions);
    w.patchU16(start, w.length - start);
  }
}
