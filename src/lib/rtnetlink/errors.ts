import { constants as osConstants } from 'node:os';

/**
 * Bytes from the kernel (or anyone else) that do not parse. `offset` is the
 * byte offset into the buffer handed to the decoder, `field` names what was
 * being read ("nlmsghdr.len", "NDA_LLADDR", ...). Decoders throw only this.
 */
export class NetlinkDecodeError extends Error {
  override name = 'NetlinkDecodeError';
  constructor(
    readonly field: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`malformed netlink data at offset ${offset} (${field}): ${detail}`);
  }
}

/** A value the caller asked us to encode that the wire format cannot carry. */
export class NetlinkEncodeError extends Error {
  override name = 'NetlinkEncodeError';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`cannot encode ${field}: ${detail}`);
  }
}

const errnoNames = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, value]) => [value, name]),
);

/** The symbolic name of an errno value ("EINVAL"), or "E<n>" when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/**
 * The kernel rejected a request (NLMSG_ERROR with a non-zero error). Carries
 * the positive errno, its name, and the extended-ack text and offset the
 * kernel attached (NLMSGERR_ATTR_MSG / _OFFS) when the socket asked for them.
 */
export class KernelError extends Error {
  override name = 'KernelError';
  readonly code: string;
  constructor(
    readonly errno: number,
    readonly extack: string | undefined,
    readonly extackOffset: number | undefined,
    readonly request: string,
  ) {
    const code = errnoName(errno);
    super(`${request}: ${code}${extack ? `: ${extack}` : ''}`);
    this.code = code;
  }
}

/**
 * The caller's view of the kernel may have lost events: the subscription
 * socket overflowed (ENOBUFS) or a dump was interrupted by a concurrent
 * change (NLM_F_DUMP_INTR). The remedy is always the same: dump again.
 */
export class ResyncNeededError extends Error {
  override name = 'ResyncNeededError';
  constructor(readonly reason: 'dump-interrupted' | 'overflow' | 'malformed') {
    super(`kernel state must be dumped again (${reason})`);
  }
}

/** The socket was closed while a request was outstanding. */
export class SocketClosedError extends Error {
  override name = 'SocketClosedError';
  constructor() {
    super('netlink socket closed');
  }
}
