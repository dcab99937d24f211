/**
 * rtnetlink for EVPN ECMP: nexthop objects, bridge/VXLAN FDB entries
 * (including NDA_NH_ID), VXLAN, bridge and veth links, bridge ports and
 * VLANs, VXLAN VNI filters; a table-driven codec, a request and
 * dump transport with typed kernel errors, and multicast subscriptions with
 * explicit resync signalling. No Kubernetes, no agent logic.
 */
export * from './constants.js';
export * from './errors.js';
export { formatIp, formatMac, parseIp, parseMac } from './address.js';
export { attrTable, decodeAttributes, encodeAttributes, type AttrBag, type AttrField, type AttrKind, type AttrTable, type CustomKind, type RawAttribute } from './attributes.js';
export { buildMessage, NetlinkWriter } from './writer.js';
export { forEachMessage, decodeError, decodeDone, NLMSG_HDRLEN, type NetlinkAck, type NetlinkMessage } from './message.js';
export { decodeNexthop, encodeNexthopBody, MAX_NEXTHOP_WEIGHT, nexthopAttributes, type Nexthop, type NexthopGroupMember, type ResilientGroupParams } from './nexthop.js';
export { decodeFdbEntry, encodeFdbBody, fdbAttributes, neighFamily, type FdbEntry, type NeighCacheInfo } from './neigh.js';
export {
  bridgePortLinkAttributes,
  decodeLink,
  encodeIfinfomsg,
  encodeLinkBody,
  linkAttributes,
  MAX_ALIAS_BYTES,
  vxlanAttributes,
  type Link,
  type LinkInfo,
  type VxlanInfo,
} from './link.js';
export {
  bridgeAfSpecAttributes,
  bridgeInfoAttributes,
  bridgePortAttributes,
  expandBridgeVlans,
  expandBridgeVlanTunnels,
  type BridgeAfSpec,
  type BridgeInfo,
  type BridgePortInfo,
  type BridgeVlanInfo,
  type BridgeVlanTunnelInfo,
  type PortVlan,
  type PortVlanTunnel,
} from './bridge.js';
export { decodeVniFilter, encodeVniFilterBody, vniFilterAttributes, type VniFilterMessage, type VniFilterRange } from './vnifilter.js';
export { fdbFlagNames, fdbStateNames, nudStateNames, protocolName, familyName } from './names.js';
export { NetlinkTransport, NetlinkSocketError, type TransportOptions, type Decoder } from './transport.js';
export { DEFAULT_MAX_QUEUED_EVENTS, RtnetlinkSubscription, type RtnetlinkEvent, type EventOp, type SubscriptionGroup, type SubscriptionOptions } from './subscription.js';
export {
  RtnetlinkClient,
  type RtnetlinkClientOptions,
  type CreateBridgeSpec,
  type CreateVethSpec,
  type CreateVxlanSpec,
  type BridgePortVlans,
  type LinkChanges,
  type VethPair,
  type VniFilter,
} from './client.js';
export * from './requests.js';
export * from './link-requests.js';
export { decodeMessage, encodeMessage, type RtnetlinkMessage } from './codec.js';
