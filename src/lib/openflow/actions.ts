import { OpenFlowEncodeError } from './errors.js';
import { oxmFieldByName, readOxm, writeOxm, type OxmValue } from './oxm.js';
import { NX_VENDOR_ID, NXAST_LEARN, readLearn, writeLearn, type LearnAction } from './learn.js';
import { checkU64, checkUint, Reader, Writer } from './wire.js';

/**
 * Actions and instructions (OpenFlow 1.3/1.5 layouts are the same for the
 * ones modelled here). Each action type has one entry in ACTION_CODECS;
 * anything else (e.g. Nicira experimenter actions ovs-ofctl may install) is
 * carried raw and re-encoded byte for byte.
 * Source: wire.md A3/A4; OVS lib/ofp-actions.c.
 */
export type Action =
  | { type: 'output'; port: number; maxLen?: number }
  | { type: 'group'; groupId: number }
  /** `field` is the Open vSwitch field name: tun_id, tun_dst, tun_ipv6_dst, metadata, eth_dst, reg0… */
  | { type: 'setField'; field: string; value: OxmValue; mask?: OxmValue }
  /** Open vSwitch's learn (NXAST_LEARN, see learn.ts). */
  | LearnAction
  | { type: 'raw'; actionType: number; body: string };

export type Instruction =
  | { type: 'applyActions'; actions: Action[] }
  | { type: 'writeActions'; actions: Action[] }
  | { type: 'clearActions' }
  | { type: 'gotoTable'; tableId: number }
  | { type: 'writeMetadata'; metadata: bigint; mask: bigint }
  | { type: 'raw'; instructionType: number; body: string };

/** Reserved port numbers (wire.md A3). */
export const OFPP = {
  IN_PORT: 0xfffffff8,
  TABLE: 0xfffffff9,
  NORMAL: 0xfffffffa,
  FLOOD: 0xfffffffb,
  ALL: 0xfffffffc,
  CONTROLLER: 0xfffffffd,
  LOCAL: 0xfffffffe,
  ANY: 0xffffffff,
  MAX: 0xffffff00,
} as const;

const OFPAT_OUTPUT = 0;
const OFPAT_GROUP = 22;
const OFPAT_SET_FIELD = 25;
const OFPAT_EXPERIMENTER = 0xffff;

type ActionOf<T extends Action['type']> = Extract<Action, { type: T }>;

interface ActionCodec<T extends Action['type']> {
  wireType: number;
  encode(w: Writer, a: ActionOf<T>, what: string): void;
  /** `r` holds the body after type and len; may fall back to a raw action. */
  decode(r: Reader, field: string): Action;
}

const outputCodec: ActionCodec<'output'> = {
  wireType: OFPAT_OUTPUT,
  encode(w, a, what) {
    w.u32(checkUint(`${what}.port`, a.port, 32)).u16(checkUint(`${what}.maxLen`, a.maxLen ?? 0, 16)).zeros(6);
  },
  decode(r, field) {
    const port = r.u32(`${field}.port`);
    const maxLen = r.u16(`${field}.max_len`);
    r.skip(6, `${field}.pad`);
    // max_len only means something for CONTROLLER; keep it only when set.
    return maxLen !== 0 ? { type: 'output', port, maxLen } : { type: 'output', port };
  },
};

const groupCodec: ActionCodec<'group'> = {
  wireType: OFPAT_GROUP,
  encode(w, a, what) {
    w.u32(checkUint(`${what}.groupId`, a.groupId, 32));
  },
  decode(r, field) {
    return { type: 'group', groupId: r.u32(`${field}.group_id`) };
  },
};

const setFieldCodec: ActionCodec<'setField'> = {
  wireType: OFPAT_SET_FIELD,
  encode(w, a, what) {
    const d = oxmFieldByName(a.field);
    if (!d) throw new OpenFlowEncodeError(`${what}.field`, `unknown field "${a.field}"`);
    writeOxm(w, d, a.value, a.mask, what);
  },
  decode(r, field) {
    const oxm = readOxm(r, `${field}.oxm`);
    if (!oxm.def || oxm.value === undefined) {
      // A target outside the field table: keep the action byte for byte.
      const w = new Writer(16);
      w.u32(((oxm.raw.oxmClass << 16) | (oxm.raw.field << 9) | (oxm.raw.hasMask ? 0x100 : 0) | (oxm.raw.payload.length / 2)) >>> 0);
      w.bytes(Buffer.from(oxm.raw.payload, 'hex'));
      w.zeros(r.remaining);
      return { type: 'raw', actionType: OFPAT_SET_FIELD, body: w.finish().toString('hex') };
    }
    // The rest of the body is zero padding to 8 (OVS refuses non-zero padding).
    return oxm.mask !== undefined
      ? { type: 'setField', field: oxm.def.name, value: oxm.value, mask: oxm.mask }
      : { type: 'setField', field: oxm.def.name, value: oxm.value };
  },
};

/** Experimenter actions: Nicira's learn is modelled; any other stays raw, byte for byte. */
const learnCodec: ActionCodec<'learn'> = {
  wireType: OFPAT_EXPERIMENTER,
  encode(w, a, what) {
    writeLearn(w, a, what);
  },
  decode(r, field) {
    const body = r.bytes(r.remaining, `${field}.body`);
    const inner = new Reader(body, r.absolute - body.length, field);
    if (body.length >= 6 && inner.u32('vendor') === NX_VENDOR_ID && inner.u16('subtype') === NXAST_LEARN) {
      const learn = readLearn(inner, 'learn');
      if (learn) return learn;
    }
    return { type: 'raw', actionType: OFPAT_EXPERIMENTER, body: body.toString('hex') };
  },
};

const ACTION_CODECS: { [T in Exclude<Action['type'], 'raw'>]: ActionCodec<T> } = {
  output: outputCodec,
  group: groupCodec,
  setField: setFieldCodec,
  learn: learnCodec,
};

const codecByWireType = new Map<number, ActionCodec<Exclude<Action['type'], 'raw'>>>(
  Object.values(ACTION_CODECS).map((c) => [c.wireType, c as ActionCodec<Exclude<Action['type'], 'raw'>>]),
);

export function writeActions(w: Writer, actions: readonly Action[], what: string): void {
  actions.forEach((a, i) => {
    const field = `${what}[${i}]`;
    const start = w.length;
    if (a.type === 'raw') {
      const body = Buffer.from(a.body, 'hex');
      w.u16(a.actionType).u16(4 + body.length).bytes(body);
      if ((4 + body.length) % 8 !== 0) throw new OpenFlowEncodeError(field, 'raw action length must be a multiple of 8');
      return;
    }
    const codec = ACTION_CODECS[a.type] as ActionCodec<typeof a.type> | undefined;
    if (!codec) throw new OpenFlowEncodeError(field, `unknown action type "${(a as { type: string }).type}"`);
    w.u16(codec.wireType).u16(0);
    codec.encode(w, a, field);
    w.padTo8(start);
    w.patchU16(start + 2, w.length - start);
  });
}

export function readActions(r: Reader, field: string): Action[] {
  const actions: Action[] = [];
  while (r.remaining > 0) {
    const name = `${field}[${actions.length}]`;
    const at = r.offset;
    const type = r.u16(`${name}.type`);
    const len = r.u16(`${name}.len`);
    if (len < 8 || len % 8 !== 0) throw r.fail(`${name}.len`, `action length ${len} is not a positive multiple of 8`, at + 2);
    const body = r.sub(len - 4, name);
    const codec = codecByWireType.get(type);
    actions.push(codec ? codec.decode(body, name) : { type: 'raw', actionType: type, body: body.bytes(len - 4, `${name}.body`).toString('hex') });
  }
  return actions;
}

const OFPIT = { gotoTable: 1, writeMetadata: 2, writeActions: 3, applyActions: 4, clearActions: 5 } as const;
const instructionByWire = new Map<number, keyof typeof OFPIT>(Object.entries(OFPIT).map(([k, v]) => [v, k as keyof typeof OFPIT]));

export function writeInstructions(w: Writer, instructions: readonly Instruction[]): void {
  instructions.forEach((ins, i) => {
    const field = `instructions[${i}]`;
    const start = w.length;
    switch (ins.type) {
      case 'gotoTable':
        w.u16(OFPIT.gotoTable).u16(8).u8(checkUint(`${field}.tableId`, ins.tableId, 8)).zeros(3);
        break;
      case 'writeMetadata':
        w.u16(OFPIT.writeMetadata).u16(24).zeros(4).u64(checkU64(`${field}.metadata`, ins.metadata)).u64(checkU64(`${field}.mask`, ins.mask));
        break;
      case 'applyActions':
      case 'writeActions':
        w.u16(OFPIT[ins.type]).u16(0).zeros(4);
        writeActions(w, ins.actions, `${field}.actions`);
        w.patchU16(start + 2, w.length - start);
        break;
      case 'clearActions':
        w.u16(OFPIT.clearActions).u16(8).zeros(4);
        break;
      case 'raw': {
        const body = Buffer.from(ins.body, 'hex');
        if ((4 + body.length) % 8 !== 0) throw new OpenFlowEncodeError(field, 'raw instruction length must be a multiple of 8');
        w.u16(ins.instructionType).u16(4 + body.length).bytes(body);
        break;
      }
      default:
        throw new OpenFlowEncodeError(field, `unknown instruction type "${(ins as { type: string }).type}"`);
    }
  });
}

export function readInstructions(r: Reader, field = 'instructions'): Instruction[] {
  const out: Instruction[] = [];
  while (r.remaining > 0) {
    const name = `${field}[${out.length}]`;
    const at = r.offset;
    const type = r.u16(`${name}.type`);
    const len = r.u16(`${name}.len`);
    if (len < 8 || len % 8 !== 0) throw r.fail(`${name}.len`, `instruction length ${len} is not a positive multiple of 8`, at + 2);
    const body = r.sub(len - 4, name);
    const kind = instructionByWire.get(type);
    switch (kind) {
      case 'gotoTable':
        out.push({ type: 'gotoTable', tableId: body.u8(`${name}.table_id`) });
        break;
      case 'writeMetadata':
        body.skip(4, `${name}.pad`);
        out.push({ type: 'writeMetadata', metadata: body.u64(`${name}.metadata`), mask: body.u64(`${name}.metadata_mask`) });
        break;
      case 'applyActions':
      case 'writeActions':
        body.skip(4, `${name}.pad`);
        out.push({ type: kind, actions: readActions(body, `${name}.actions`) });
        break;
      case 'clearActions':
        out.push({ type: 'clearActions' });
        break;
      default:
        out.push({ type: 'raw', instructionType: type, body: body.bytes(len - 4, `${name}.body`).toString('hex') });
    }
  }
  return out;
}

