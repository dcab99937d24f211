import type { OfErrorInfo } from './error-codes.js';

/**
 * Typed failures of the OpenFlow library. Decoding never throws anything
 * else: a malformed message from the switch (or from a fuzzer) is reported
 * with the field that could not be read and its byte offset in the message,
 * so the caller can log it and drop the message instead of crashing.
 */
export class OpenFlowDecodeError extends Error {
  override name = 'OpenFlowDecodeError';
  constructor(
    /** Dotted path of the field being read, e.g. `groupDesc[3].bucket[1].action[0].len`. */
    readonly field: string,
    /** Byte offset from the start of the OpenFlow message. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`malformed OpenFlow message: ${field} at offset ${offset}: ${reason}`);
  }
}

/** A value that cannot be put on the wire (out of range, unknown name, wrong version). */
export class OpenFlowEncodeError extends Error {
  override name = 'OpenFlowEncodeError';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`cannot encode OpenFlow ${field}: ${reason}`);
  }
}

/** The switch answered a request with an OpenFlow ERROR. */
export class OpenFlowRequestError extends Error {
  override name = 'OpenFlowRequestError';
  constructor(
    /** What was sent, e.g. `groupMod.add`. */
    readonly requestKind: string,
    readonly xid: number,
    /** The decoded error: type/code numbers and names (e.g. OFPGMFC_GROUP_EXISTS). */
    readonly error: OfErrorInfo,
  ) {
    super(`${requestKind} (xid ${xid}) rejected by the switch: ${error.name}`);
  }
}

/** The connection went away (or was never up) while a request was outstanding. */
export class OpenFlowDisconnectedError extends Error {
  override name = 'OpenFlowDisconnectedError';
}

/** No reply within the request's time limit. */
export class OpenFlowTimeoutError extends Error {
  override name = 'OpenFlowTimeoutError';
}

/**
 * A multipart reply grew past the client's `maxReplyBytes` before its last
 * part: the request fails and the rest of the reply is dropped unread,
 * instead of a misbehaving switch filling the controller's memory.
 */
export class OpenFlowReplyTooLargeError extends Error {
  override name = 'OpenFlowReplyTooLargeError';
  constructor(
    readonly requestKind: string,
    readonly xid: number,
    readonly limitBytes: number,
  ) {
    super(`${requestKind} (xid ${xid}): the reply exceeds ${limitBytes} bytes; dropped`);
  }
}

/** Version negotiation failed (no common version, or the peer sent HELLO_FAILED). */
export class OpenFlowNegotiationError extends Error {
  override name = 'OpenFlowNegotiationError';
}
