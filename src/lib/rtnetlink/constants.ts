/**
 * Numeric constants of the netlink and rtnetlink wire protocols, as the Linux
 * UAPI headers define them (`netlink.h`, `rtnetlink.h`, `nexthop.h`,
 * `neighbour.h`, `if_link.h`, `if_bridge.h`, `veth.h`). Values are verified
 * against Linux 6.18 (and the 6.1 UAPI headers of Debian's linux-libc-dev); see
 * shared/reference/wire.md part B.
 */

export const NETLINK_ROUTE = 0;
/** SOL_NETLINK socket options. */
export const SOL_NETLINK = 270;
export const NETLINK_NO_ENOBUFS = 5;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

/** nlmsghdr.type values below NLMSG_MIN_TYPE (16) are control messages. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** Flags on an NLMSG_ERROR: the request was not echoed / extack TLVs follow. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** Extended-ack TLVs after an NLMSG_ERROR payload. */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;
export const NLMSGERR_ATTR_COOKIE = 3;
export const NLMSGERR_ATTR_POLICY = 4;
export const NLMSGERR_ATTR_MISS_TYPE = 5;
export const NLMSGERR_ATTR_MISS_NEST = 6;

export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = 0x3fff;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;
export const RTM_NEWNEXTHOP = 104;
export const RTM_DELNEXTHOP = 105;
export const RTM_GETNEXTHOP = 106;
/** VXLAN VNI filter entries (struct tunnel_msg), Linux >= 5.18. */
export const RTM_NEWTUNNEL = 120;
export const RTM_DELTUNNEL = 121;
export const RTM_GETTUNNEL = 122;

/** Multicast groups (`enum rtnetlink_groups`). */
export const RTNLGRP_LINK = 1;
export const RTNLGRP_NEIGH = 3;
export const RTNLGRP_NEXTHOP = 32;
export const RTNLGRP_TUNNEL = 35;

/** nhmsg attributes (`enum nexthop_attrs`). */
export const NHA_ID = 1;
export const NHA_GROUP = 2;
export const NHA_GROUP_TYPE = 3;
export const NHA_BLACKHOLE = 4;
export const NHA_OIF = 5;
export const NHA_GATEWAY = 6;
export const NHA_ENCAP_TYPE = 7;
export const NHA_ENCAP = 8;
export const NHA_GROUPS = 9;
export const NHA_MASTER = 10;
export const NHA_FDB = 11;
export const NHA_RES_GROUP = 12;
export const NHA_RES_BUCKET = 13;
export const NHA_OP_FLAGS = 14;
/** In a reply's NHA_OP_FLAGS: nexthop_grp.weight_high is valid (Linux >= 6.12). */
export const NHA_OP_FLAG_RESP_GRP_RESVD_0 = 0x80000000;
export const NEXTHOP_GRP_TYPE_MPATH = 0;
export const NEXTHOP_GRP_TYPE_RES = 1;

/** ndmsg attributes (`enum NDA_*`). */
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NDA_CACHEINFO = 3;
export const NDA_PROBES = 4;
export const NDA_VLAN = 5;
export const NDA_PORT = 6;
export const NDA_VNI = 7;
export const NDA_IFINDEX = 8;
export const NDA_MASTER = 9;
export const NDA_LINK_NETNSID = 10;
export const NDA_SRC_VNI = 11;
export const NDA_PROTOCOL = 12;
export const NDA_NH_ID = 13;
export const NDA_FDB_EXT_ATTRS = 14;
export const NDA_FLAGS_EXT = 15;

/** ndmsg.ndm_flags. */
export const NTF_USE = 0x01;
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;
export const NTF_PROXY = 0x08;
export const NTF_EXT_LEARNED = 0x10;
export const NTF_OFFLOADED = 0x20;
export const NTF_STICKY = 0x40;
export const NTF_ROUTER = 0x80;

/** ndmsg.ndm_state (NUD_*). */
export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;

/**
 * The states `bridge fdb add` sends for its keywords (iproute2 bridge/fdb.c):
 * the default and `permanent` are NOARP|PERMANENT, `static` is
 * NOARP|REACHABLE, `dynamic` is REACHABLE.
 */
export const FDB_STATE_PERMANENT = NUD_NOARP | NUD_PERMANENT;
export const FDB_STATE_STATIC = NUD_NOARP | NUD_REACHABLE;
export const FDB_STATE_DYNAMIC = NUD_REACHABLE;

/** ifinfomsg attributes (`enum IFLA_*`), the ones this library names. */
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
/** In AF_BRIDGE link messages: the port's IFLA_BRPORT_* (nested); in AF_INET6 ones: IFLA_INET6_*. */
export const IFLA_PROTINFO = 12;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_IFALIAS = 20;
export const IFLA_AF_SPEC = 26;
export const IFLA_EXT_MASK = 29;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;
export const IFLA_INFO_SLAVE_DATA = 5;
export const IFLA_INET6_ADDR_GEN_MODE = 8;
export const IN6_ADDR_GEN_MODE_NONE = 1;
/** IFLA_EXT_MASK bits (RTEXT_FILTER_*). */
export const RTEXT_FILTER_VF = 1 << 0;
/** AF_BRIDGE link dumps: add each port's VLANs (one entry per VLAN) and VLAN tunnel mappings. */
export const RTEXT_FILTER_BRVLAN = 1 << 1;
/** As BRVLAN, with consecutive VLANs of equal flags as RANGE_BEGIN/RANGE_END pairs (what notifications carry). */
export const RTEXT_FILTER_BRVLAN_COMPRESSED = 1 << 2;
/** Leaves the statistics out of link replies. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;
/** net_device flags (if.h); LOWER_UP and RUNNING are reported, not set. */
export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;
/** IFLA_OPERSTATE values (RFC 2863 operstatus, `enum IF_OPER_*`). */
export const IF_OPER_UNKNOWN = 0;
export const IF_OPER_NOTPRESENT = 1;
export const IF_OPER_DOWN = 2;
export const IF_OPER_LOWERLAYERDOWN = 3;
export const IF_OPER_TESTING = 4;
export const IF_OPER_DORMANT = 5;
export const IF_OPER_UP = 6;

/** IFLA_BR_* inside IFLA_INFO_DATA of a "bridge" link. */
export const IFLA_BR_VLAN_FILTERING = 7;
export const IFLA_BR_MCAST_SNOOPING = 23;
export const IFLA_BR_VLAN_DEFAULT_PVID = 39;

/** VETH_INFO_* inside IFLA_INFO_DATA of a "veth" link: the peer's struct ifinfomsg and IFLA_* attributes. */
export const VETH_INFO_PEER = 1;

/** IFLA_BRPORT_* inside IFLA_PROTINFO of an AF_BRIDGE link message (a bridge port's settings). */
export const IFLA_BRPORT_STATE = 1;
export const IFLA_BRPORT_PRIORITY = 2;
export const IFLA_BRPORT_COST = 3;
export const IFLA_BRPORT_LEARNING = 8;
export const IFLA_BRPORT_UNICAST_FLOOD = 9;
export const IFLA_BRPORT_MCAST_FLOOD = 27;
export const IFLA_BRPORT_VLAN_TUNNEL = 29;
export const IFLA_BRPORT_BCAST_FLOOD = 30;
export const IFLA_BRPORT_NEIGH_SUPPRESS = 32;
export const IFLA_BRPORT_ISOLATED = 33;
/** IFLA_BRPORT_STATE values (BR_STATE_*). */
export const BR_STATE_DISABLED = 0;
export const BR_STATE_LISTENING = 1;
export const BR_STATE_LEARNING = 2;
export const BR_STATE_FORWARDING = 3;
export const BR_STATE_BLOCKING = 4;

/** IFLA_BRIDGE_* inside IFLA_AF_SPEC of an AF_BRIDGE link message (if_bridge.h). */
export const IFLA_BRIDGE_FLAGS = 0;
export const IFLA_BRIDGE_MODE = 1;
export const IFLA_BRIDGE_VLAN_INFO = 2;
export const IFLA_BRIDGE_VLAN_TUNNEL_INFO = 3;
/** IFLA_BRIDGE_FLAGS: apply to the bridge master of a port (default) or to the device itself. */
export const BRIDGE_FLAGS_MASTER = 1;
export const BRIDGE_FLAGS_SELF = 2;
/** struct bridge_vlan_info.flags. */
export const BRIDGE_VLAN_INFO_MASTER = 1 << 0;
export const BRIDGE_VLAN_INFO_PVID = 1 << 1;
export const BRIDGE_VLAN_INFO_UNTAGGED = 1 << 2;
export const BRIDGE_VLAN_INFO_RANGE_BEGIN = 1 << 3;
export const BRIDGE_VLAN_INFO_RANGE_END = 1 << 4;
/** The VLAN is configured on the bridge device itself (a "self" VLAN). */
export const BRIDGE_VLAN_INFO_BRENTRY = 1 << 5;
/** IFLA_BRIDGE_VLAN_TUNNEL_* inside IFLA_BRIDGE_VLAN_TUNNEL_INFO. */
export const IFLA_BRIDGE_VLAN_TUNNEL_ID = 1;
export const IFLA_BRIDGE_VLAN_TUNNEL_VID = 2;
export const IFLA_BRIDGE_VLAN_TUNNEL_FLAGS = 3;

/** VXLAN VNI filter (RTM_*TUNNEL with struct tunnel_msg, if_link.h). */
export const TUNNEL_MSG_FLAG_STATS = 0x01;
export const VXLAN_VNIFILTER_ENTRY = 1;
export const VXLAN_VNIFILTER_ENTRY_START = 1;
export const VXLAN_VNIFILTER_ENTRY_END = 2;
export const VXLAN_VNIFILTER_ENTRY_GROUP = 3;
export const VXLAN_VNIFILTER_ENTRY_GROUP6 = 4;
export const VXLAN_VNIFILTER_ENTRY_STATS = 5;

/** IFLA_VXLAN_* inside IFLA_INFO_DATA of a "vxlan" link. */
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_GROUP = 2;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_TTL = 5;
export const IFLA_VXLAN_TOS = 6;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_AGEING = 8;
export const IFLA_VXLAN_PORT = 15;
export const IFLA_VXLAN_GROUP6 = 16;
export const IFLA_VXLAN_LOCAL6 = 17;
export const IFLA_VXLAN_COLLECT_METADATA = 25;
export const IFLA_VXLAN_VNIFILTER = 30;
