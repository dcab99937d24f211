/**
 * rtnetlink for EVPN ECMP: nexthop objects, bridge/VXLAN FDB entries
 * (including NDA_NH_ID) and VXLAN links; a table-driven codec, a request and
 * dump transport with typed kernel errors, and multicast subscriptions with
 * explicit resync signalling. No Kubernetes, no agent logic.
 */
export * from './constants.js';
export * from './errors.js';
export { formatIp, formatMac, parseIp, parseMac } from './address.js';
export { attrTable, decodeAttributes, encodeAttributes, type AttrBag, type AttrField, type AttrKind, type AttrTable, type CustomKind, type RawAttribute } from './attributes.js';
export { NetlinkWriter } from './writer.js';
export { forEachMessage, decodeError, decodeDone, NLMSG_HDRLEN, type NetlinkAck, type NetlinkMessage } from './message.js';
export { decodeNexthop, encodeNexthopBody, MAX_NEXTHOP_WEIGHT, nexthopAttributes, type Nexthop, type NexthopGroupMember, type ResilientGroupParams } from './nexthop.js';
export { decodeFdbEntry, encodeFdbBody, fdbAttributes, neighFamily, type FdbEntry, type NeighCacheInfo } from './neigh.js';
export { decodeLink, encodeLinkBody, encodeVxlanLinkBody, linkAttributes, vxlanAttributes, type Link, type LinkInfo, type VxlanInfo, type VxlanSpec } from './link.js';
export { fdbFlagNames, fdbStateNames, nudStateNames, protocolName, familyName } from './names.js';
export { NetlinkTransport, NetlinkSocketError, type TransportOptions, type Decoder } from './transport.js';
export { RtnetlinkSubscription, type RtnetlinkEvent, type EventOp, type SubscriptionGroup, type SubscriptionOptions } from './subscription.js';
export { RtnetlinkClient, type RtnetlinkClientOptions, type CreateVxlanSpec } from './client.js';
export * from './requests.js';
export { decodeMessage, encodeMessage, type RtnetlinkMessage } from './codec.js';
