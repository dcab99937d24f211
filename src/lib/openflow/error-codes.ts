import { ONF_EXPERIMENTER } from './constants.js';

/**
 * OpenFlow error types and codes, decoded to the names ovs-ofctl prints
 * (wire.md A1; OVS include/openvswitch/ofp-errors.h). Unknown codes keep
 * their numbers.
 */
const ERROR_TYPES: Record<number, { name: string; prefix: string; codes: Record<number, string> }> = {
  0: { name: 'HELLO_FAILED', prefix: 'OFPHFC', codes: { 0: 'INCOMPATIBLE', 1: 'EPERM' } },
  1: {
    name: 'BAD_REQUEST',
    prefix: 'OFPBRC',
    codes: { 0: 'BAD_VERSION', 1: 'BAD_TYPE', 2: 'BAD_MULTIPART', 3: 'BAD_EXPERIMENTER', 4: 'BAD_EXP_TYPE', 5: 'EPERM', 6: 'BAD_LEN', 7: 'BUFFER_EMPTY', 8: 'BUFFER_UNKNOWN', 9: 'BAD_TABLE_ID', 10: 'IS_SLAVE', 11: 'BAD_PORT', 12: 'BAD_PACKET', 13: 'MULTIPART_BUFFER_OVERFLOW' },
  },
  2: {
    name: 'BAD_ACTION',
    prefix: 'OFPBAC',
    codes: { 0: 'BAD_TYPE', 1: 'BAD_LEN', 2: 'BAD_EXPERIMENTER', 3: 'BAD_EXP_TYPE', 4: 'BAD_OUT_PORT', 5: 'BAD_ARGUMENT', 6: 'EPERM', 7: 'TOO_MANY', 8: 'BAD_QUEUE', 9: 'BAD_OUT_GROUP', 10: 'MATCH_INCONSISTENT', 11: 'UNSUPPORTED_ORDER', 12: 'BAD_TAG', 13: 'BAD_SET_TYPE', 14: 'BAD_SET_LEN', 15: 'BAD_SET_ARGUMENT' },
  },
  3: {
    name: 'BAD_INSTRUCTION',
    prefix: 'OFPBIC',
    codes: { 0: 'UNKNOWN_INST', 1: 'UNSUP_INST', 2: 'BAD_TABLE_ID', 3: 'UNSUP_METADATA', 4: 'UNSUP_METADATA_MASK', 5: 'BAD_EXPERIMENTER', 6: 'BAD_EXP_TYPE', 7: 'BAD_LEN', 8: 'EPERM', 9: 'DUP_INST' },
  },
  4: {
    name: 'BAD_MATCH',
    prefix: 'OFPBMC',
    codes: { 0: 'BAD_TYPE', 1: 'BAD_LEN', 2: 'BAD_TAG', 3: 'BAD_DL_ADDR_MASK', 4: 'BAD_NW_ADDR_MASK', 5: 'BAD_WILDCARDS', 6: 'BAD_FIELD', 7: 'BAD_VALUE', 8: 'BAD_MASK', 9: 'BAD_PREREQ', 10: 'DUP_FIELD', 11: 'EPERM' },
  },
  5: {
    name: 'FLOW_MOD_FAILED',
    prefix: 'OFPFMFC',
    codes: { 0: 'UNKNOWN', 1: 'TABLE_FULL', 2: 'BAD_TABLE_ID', 3: 'OVERLAP', 4: 'EPERM', 5: 'BAD_TIMEOUT', 6: 'BAD_COMMAND', 7: 'BAD_FLAGS', 8: 'CANT_SYNC', 9: 'BAD_PRIORITY', 10: 'IS_SYNC' },
  },
  6: {
    name: 'GROUP_MOD_FAILED',
    prefix: 'OFPGMFC',
    codes: { 0: 'GROUP_EXISTS', 1: 'INVALID_GROUP', 2: 'WEIGHT_UNSUPPORTED', 3: 'OUT_OF_GROUPS', 4: 'OUT_OF_BUCKETS', 5: 'CHAINING_UNSUPPORTED', 6: 'WATCH_UNSUPPORTED', 7: 'LOOP', 8: 'UNKNOWN_GROUP', 9: 'CHAINED_GROUP', 10: 'BAD_TYPE', 11: 'BAD_COMMAND', 12: 'BAD_BUCKET', 13: 'BAD_WATCH', 14: 'EPERM', 15: 'UNKNOWN_BUCKET', 16: 'BUCKET_EXISTS' },
  },
  7: { name: 'PORT_MOD_FAILED', prefix: 'OFPPMFC', codes: { 0: 'BAD_PORT', 1: 'BAD_HW_ADDR', 2: 'BAD_CONFIG', 3: 'BAD_ADVERTISE', 4: 'EPERM' } },
  8: { name: 'TABLE_MOD_FAILED', prefix: 'OFPTMFC', codes: { 0: 'BAD_TABLE', 1: 'BAD_CONFIG', 2: 'EPERM' } },
  10: { name: 'SWITCH_CONFIG_FAILED', prefix: 'OFPSCFC', codes: { 0: 'BAD_FLAGS', 1: 'BAD_LEN', 2: 'EPERM' } },
  11: { name: 'ROLE_REQUEST_FAILED', prefix: 'OFPRRFC', codes: { 0: 'STALE', 1: 'UNSUP', 2: 'BAD_ROLE' } },
  12: { name: 'METER_MOD_FAILED', prefix: 'OFPMMFC', codes: {} },
  13: { name: 'TABLE_FEATURES_FAILED', prefix: 'OFPTFFC', codes: {} },
  14: { name: 'BAD_PROPERTY', prefix: 'OFPBPC', codes: { 0: 'BAD_TYPE', 1: 'BAD_LEN', 2: 'BAD_VALUE', 3: 'TOO_MANY', 4: 'DUP_TYPE', 5: 'BAD_EXPERIMENTER', 6: 'BAD_EXP_TYPE', 7: 'BAD_EXP_VALUE', 8: 'EPERM' } },
  17: {
    name: 'BUNDLE_FAILED',
    prefix: 'OFPBFC',
    codes: { 0: 'UNKNOWN', 1: 'EPERM', 2: 'BAD_ID', 3: 'BUNDLE_EXIST', 4: 'BUNDLE_CLOSED', 5: 'OUT_OF_BUNDLES', 6: 'BAD_TYPE', 7: 'BAD_FLAGS', 8: 'MSG_BAD_LEN', 9: 'MSG_BAD_XID', 10: 'MSG_UNSUP', 11: 'MSG_CONFLICT', 12: 'MSG_TOO_MANY', 13: 'MSG_FAILED', 14: 'TIMEOUT', 15: 'BUNDLE_IN_PROGRESS' },
  },
};

export interface ErrorName {
  /** e.g. GROUP_MOD_FAILED */
  typeName: string;
  /** e.g. GROUP_EXISTS */
  codeName: string;
  /** The constant ovs-ofctl prints, e.g. OFPGMFC_GROUP_EXISTS. */
  name: string;
}

/** Names an error. Experimenter errors (type 0xFFFF) map the ONF bundle range (2300+code) onto BUNDLE_FAILED. */
export function errorName(type: number, code: number, experimenter?: number): ErrorName {
  if (type === 0xffff && experimenter === ONF_EXPERIMENTER && code >= 2300 && code < 2400) {
    return errorName(17, code - 2300);
  }
  if (type === 0xffff) {
    const codeName = `EXPERIMENTER_0x${(experimenter ?? 0).toString(16)}_${code}`;
    return { typeName: 'EXPERIMENTER', codeName, name: codeName };
  }
  const t = ERROR_TYPES[type];
  if (!t) return { typeName: `TYPE_${type}`, codeName: `CODE_${code}`, name: `OFPET_${type}_${code}` };
  const codeName = t.codes[code] ?? `CODE_${code}`;
  return { typeName: t.name, codeName, name: `${t.prefix}_${codeName}` };
}

/** An OpenFlow ERROR message, decoded (what a refused request or bundle message carries). */
export interface OfErrorInfo extends ErrorName {
  errType: number;
  code: number;
  /** Experimenter errors only. */
  experimenter?: number;
  /** What OVS put in data: the offending message (often whole). */
  data: Buffer;
  /** Header of the offending message, when data holds one. */
  failed?: { version: number; type: number; length: number; xid: number };
}
