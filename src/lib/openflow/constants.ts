/**
 * Protocol numbers shared by the codec and the client (wire.md A1).
 */
export const OFP13 = 0x04;
export const OFP15 = 0x06;
export type OfVersion = typeof OFP13 | typeof OFP15;

export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  EXPERIMENTER: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  FLOW_MOD: 14,
  GROUP_MOD: 15,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
  BUNDLE_CONTROL: 33,
  BUNDLE_ADD_MESSAGE: 34,
} as const;

/** Multipart types used by resync and inspect (wire.md A5). */
export const OFPMP = {
  FLOW: 1,
  GROUP: 6,
  GROUP_DESC: 7,
  PORT_DESC: 13,
} as const;

/** Group ids with a meaning of their own (wire.md A2). */
export const OFPG = { MAX: 0xffffff00, ALL: 0xfffffffc, ANY: 0xffffffff } as const;
/** Bucket ids with a meaning of their own (1.5). */
export const OFPG_BUCKET = { MAX: 0xffffff00, FIRST: 0xfffffffd, LAST: 0xfffffffe, ALL: 0xffffffff } as const;
export const OFPTT_ALL = 0xff;
export const OFP_NO_BUFFER = 0xffffffff;

/** Open Networking Foundation experimenter id: 1.3 bundles travel inside it. */
export const ONF_EXPERIMENTER = 0x4f4e4600;
export const ONFT_BUNDLE_CONTROL = 2300;
export const ONFT_BUNDLE_ADD_MESSAGE = 2301;
/** Netronome experimenter id of the selection-method group property (OVS also accepts 0x1540). */
export const NTR_VENDOR_ID = 0x0000154d;
export const NTR_COMPAT_VENDOR_ID = 0x00001540;
