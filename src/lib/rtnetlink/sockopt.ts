/**
 * Setting SOL_NETLINK options the `netlink` npm package cannot set.
 *
 * Its RawNetlinkSocket exposes no generic setsockopt (shared/reference/wire.md
 * B6), yet NETLINK_EXT_ACK is what makes the kernel attach its reason text
 * ("Nexthop id does not exist") to an error; without it the kernel sends only
 * the errno (net/netlink/af_netlink.c: netlink_ack_tlv_len() returns 0 unless
 * the socket has NETLINK_F_EXT_ACK). A socket option belongs to the socket,
 * not to the file descriptor, so any process holding the same open socket can
 * set it: we find our socket's descriptor through /proc (its netlink port id
 * in /proc/self/net/netlink gives the inode, /proc/self/fd gives the fd),
 * hand that descriptor to a short-lived `perl` (perl-base is an Essential
 * Debian package, present on every Debian/Ubuntu node image) and let it call
 * setsockopt(2). This avoids shipping a native addon of our own; if perl is
 * missing the socket still works, only without the kernel's text.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { NETLINK_ROUTE } from './constants.js';

/** Arguments are `level,name,value` triples; each becomes setsockopt(fd 3, level, name, (int) value). */
const SET_OPTIONS_SCRIPT =
  'open(my $s, "+<&=", 3) or die "fdopen: $!\\n";' +
  'for my $o (@ARGV) { my ($l, $n, $v) = split /,/, $o; setsockopt($s, $l, $n, pack("i", $v)) or die "setsockopt($l, $n): $!\\n" }';

/** setsockopt(2) levels and names used here (include/linux/socket.h, asm-generic/socket.h). */
export const SOL_SOCKET = 1;
export const SOL_NETLINK = 270;
export const SO_RCVBUFFORCE = 33;

/** One socket option: an int `value` for `name` at `level`. */
export interface SocketOption {
  level: number;
  name: number;
  value: number;
}

/** This process's netlink socket bound to `port`, as /proc/self/net/netlink lists it. */
function procNetlinkRow(port: number, protocol: number): string[] | undefined {
  // Columns: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  for (const line of readFileSync('/proc/self/net/netlink', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 10 && Number(f[1]) === protocol && Number(f[2]) === port) return f;
  }
  return undefined;
}

/**
 * How many messages the kernel dropped for the socket bound to `port`
 * (sk_drops: every netlink_overrun() increments it, with or without
 * NETLINK_NO_ENOBUFS), or undefined if the socket is not listed.
 */
export function netlinkSocketDrops(port: number, protocol = NETLINK_ROUTE): number | undefined {
  const row = procNetlinkRow(port, protocol);
  return row ? Number(row[8]) : undefined;
}

/** Finds the fd of this process's netlink socket bound to `port`, or undefined. */
export function findNetlinkSocketFd(port: number, protocol = NETLINK_ROUTE): number | undefined {
  const inode = procNetlinkRow(port, protocol)?.[9];
  if (inode === undefined) return undefined;
  const target = `socket:[${inode}]`;
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === target) return Number(name);
    } catch {
      // fd closed while we looked (e.g. readdir's own descriptor)
    }
  }
  return undefined;
}

/**
 * Turns on boolean SOL_NETLINK options (e.g. NETLINK_EXT_ACK) on the netlink
 * socket bound to `port`. Returns undefined on success, or why it could not.
 */
export function enableNetlinkOptions(port: number, options: readonly number[], protocol = NETLINK_ROUTE): string | undefined {
  return setSocketOptions(port, options.map((name) => ({ level: SOL_NETLINK, name, value: 1 })), protocol);
}

/**
 * Sets int socket options, in order, on the netlink socket bound to `port`
 * (one short-lived perl for all of them). Returns undefined on success, or
 * why it could not (the options before the failing one are set).
 */
export function setSocketOptions(port: number, options: readonly SocketOption[], protocol = NETLINK_ROUTE): string | undefined {
  let fd: number | undefined;
  try {
    fd = findNetlinkSocketFd(port, protocol);
  } catch (err) {
    return `cannot read /proc: ${(err as Error).message}`;
  }
  if (fd === undefined) return `no socket with netlink port ${port} in /proc/self/net/netlink`;
  const r = spawnSync('perl', ['-e', SET_OPTIONS_SCRIPT, ...options.map((o) => `${o.level},${o.name},${Math.trunc(o.value)}`)], {
    stdio: ['ignore', 'ignore', 'pipe', fd],
    timeout: 10_000,
  });
  if (r.error) return `perl: ${r.error.message}`;
  if (r.status !== 0) return `perl: ${String(r.stderr).trim() || `exit ${r.status}`}`;
  return undefined;
}
