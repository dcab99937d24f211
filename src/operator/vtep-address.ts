/**
 * A node's local VTEP address: its first InternalIP of the fabric's address
 * family (a dual-stack node lists one of each), or the `evpn.ecmp.dev/vtep-ip`
 * annotation when the fabric says `localAddressFrom: Annotation` (nodes whose
 * underlay address is not the Kubernetes node address).
 */
import { formatIp, isGlobalUnicastIp, parseIp } from '../api/net.js';
import { VTEP_IP_ANNOTATION, type Node } from './model.js';
import type { ResolvedFabric } from './fabric-settings.js';

export type VtepAddress = { ok: true; ip: string } | { ok: false; reason: 'VtepAddressMissing' | 'VtepAddressInvalid'; message: string };

export function localVtepAddress(node: Node, fabric: ResolvedFabric): VtepAddress {
  const family = fabric.addressFamily;
  if (fabric.localAddressFrom === 'Annotation') {
    const value = node.metadata.annotations?.[VTEP_IP_ANNOTATION];
    if (value === undefined || value.trim() === '') {
      return { ok: false, reason: 'VtepAddressMissing', message: `node ${node.metadata.name} has no ${VTEP_IP_ANNOTATION} annotation (fabric ${fabric.name} takes the VTEP address from it)` };
    }
    const ip = parseIp(value.trim());
    if (!ip) return { ok: false, reason: 'VtepAddressInvalid', message: `node ${node.metadata.name}: annotation ${VTEP_IP_ANNOTATION}="${value}" is not an IP address` };
    if (ip.family !== family) {
      return { ok: false, reason: 'VtepAddressInvalid', message: `node ${node.metadata.name}: annotation ${VTEP_IP_ANNOTATION}="${value}" is not ${family} (fabric ${fabric.name})` };
    }
    const text = formatIp(ip);
    if (!isGlobalUnicastIp(text)) return { ok: false, reason: 'VtepAddressInvalid', message: `node ${node.metadata.name}: annotation ${VTEP_IP_ANNOTATION}="${value}" is not a unicast address` };
    return { ok: true, ip: text };
  }
  for (const address of node.status?.addresses ?? []) {
    if (address.type !== 'InternalIP') continue;
    const ip = parseIp(address.address);
    // Loopback or link-local InternalIPs (seen on single-node test clusters)
    // cannot be VTEPs, and the VtepNodeState schema refuses them.
    if (ip?.family === family && isGlobalUnicastIp(formatIp(ip))) return { ok: true, ip: formatIp(ip) };
  }
  return { ok: false, reason: 'VtepAddressMissing', message: `node ${node.metadata.name} has no ${family} InternalIP (fabric ${fabric.name})` };
}
