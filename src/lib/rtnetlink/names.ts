/**
 * Flag and state bits rendered with iproute2's words, so what we print reads
 * like `bridge fdb show` / `ip nexthop show` (iproute2 bridge/fdb.c
 * state_n2a/fdb flags, lib/rt_names.c for protocols).
 */
import {
  NTF_EXT_LEARNED,
  NTF_MASTER,
  NTF_OFFLOADED,
  NTF_PROXY,
  NTF_ROUTER,
  NTF_SELF,
  NTF_STICKY,
  NTF_USE,
  NUD_DELAY,
  NUD_FAILED,
  NUD_INCOMPLETE,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
} from './constants.js';

/**
 * NTF_* flags of an FDB entry in the words and order `bridge -j fdb show`
 * prints them in its "flags" array (self, master, router, offload,
 * extern_learn, sticky...). NTF_USE and NTF_PROXY are not printed there but
 * named here so no bit goes unreported.
 */
export function fdbFlagNames(flags: number): string[] {
  const out: string[] = [];
  if (flags & NTF_SELF) out.push('self');
  if (flags & NTF_ROUTER) out.push('router');
  if (flags & NTF_EXT_LEARNED) out.push('extern_learn');
  if (flags & NTF_OFFLOADED) out.push('offload');
  if (flags & NTF_MASTER) out.push('master');
  if (flags & NTF_STICKY) out.push('sticky');
  if (flags & NTF_USE) out.push('use');
  if (flags & NTF_PROXY) out.push('proxy');
  return out;
}

/**
 * The FDB entry's state as `bridge fdb show` names it (iproute2
 * bridge/fdb.c state_n2a): "permanent" for NUD_PERMANENT, else "static" for
 * NUD_NOARP, else "stale"; nothing for a plain reachable (dynamic) entry; any
 * other value as hex.
 */
export function fdbStateNames(state: number): string[] {
  if (state & NUD_PERMANENT) return ['permanent'];
  if (state & NUD_NOARP) return ['static'];
  if (state & NUD_STALE) return ['stale'];
  if (state & NUD_REACHABLE) return [];
  return [`0x${state.toString(16)}`];
}

/** Every NUD_* bit by name, for a lossless rendering. */
export function nudStateNames(state: number): string[] {
  const names: [number, string][] = [
    [NUD_INCOMPLETE, 'incomplete'],
    [NUD_REACHABLE, 'reachable'],
    [NUD_STALE, 'stale'],
    [NUD_DELAY, 'delay'],
    [NUD_PROBE, 'probe'],
    [NUD_FAILED, 'failed'],
    [NUD_NOARP, 'noarp'],
    [NUD_PERMANENT, 'permanent'],
  ];
  return names.filter(([bit]) => state & bit).map(([, n]) => n);
}

/** rtnetlink protocol numbers iproute2 knows by name (/usr/share/iproute2/rt_protos). */
const PROTOCOLS: Record<number, string> = {
  0: 'unspec',
  1: 'redirect',
  2: 'kernel',
  3: 'boot',
  4: 'static',
  8: 'gated',
  9: 'ra',
  10: 'mrt',
  11: 'zebra',
  12: 'bird',
  13: 'dnrouted',
  14: 'xorp',
  15: 'ntk',
  16: 'dhcp',
  17: 'mrouted',
  18: 'keepalived',
  42: 'babel',
  99: 'openr',
  186: 'bgp',
  187: 'isis',
  188: 'ospf',
  189: 'rip',
  192: 'eigrp',
};

/** A protocol number as `ip -j nexthop show` prints it: its name, or the number as text. */
export function protocolName(protocol: number): string {
  return PROTOCOLS[protocol] ?? String(protocol);
}

export function familyName(family: number): string {
  switch (family) {
    case 2:
      return 'inet';
    case 10:
      return 'inet6';
    case 7:
      return 'bridge';
    case 0:
      return 'unspec';
    default:
      return String(family);
  }
}
