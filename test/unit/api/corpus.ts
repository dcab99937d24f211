/**
 * Objects with known verdicts, fed to zod (test/unit/api/corpus.test.ts) and
 * to the real apiserver through kubectl (test/integration/kube/crds.test.ts).
 * Each invalid case names the field both must blame.
 */
import { API_GROUP_VERSION } from '../../../src/api/index.js';

export type CorpusKind = 'EvpnFabric' | 'VtepGroup' | 'VtepNodeState';

export interface CorpusCase {
  name: string;
  kind: CorpusKind;
  /** The object's spec (apiVersion, kind and metadata are added). */
  spec: unknown;
  valid: boolean;
  /** For invalid cases: the field path the error must name, e.g. `spec.vteps[1].weight`. */
  field?: string;
  /** metadata.name when the case is about the name itself (default: unique `corpus-N`). */
  metadataName?: string;
}

let serial = 0;
/** A whole object around a case's spec, with a name unique in the run. */
export function objectOf(c: CorpusCase): Record<string, unknown> {
  return { apiVersion: API_GROUP_VERSION, kind: c.kind, metadata: { name: c.metadataName ?? `corpus-${++serial}` }, spec: c.spec };
}

const group = (over: Record<string, unknown> = {}) => ({
  fabric: 'default',
  vni: 100,
  vteps: [{ ip: '198.51.100.2', weight: 3 }, { ip: '198.51.100.3' }],
  macs: ['02:00:00:00:00:aa'],
  ...over,
});
const vteps = (...ips: string[]) => ({ vteps: ips.map((ip) => ({ ip })) });

const ok = (kind: CorpusKind, name: string, spec: unknown): CorpusCase => ({ kind, name, spec, valid: true });
const bad = (kind: CorpusKind, name: string, spec: unknown, field: string): CorpusCase => ({ kind, name, spec, valid: false, field });

const vg = {
  ok: (name: string, over: Record<string, unknown> = {}) => ok('VtepGroup', name, group(over)),
  bad: (name: string, over: Record<string, unknown>, field: string) => bad('VtepGroup', name, group(over), field),
};

export const VTEP_GROUP_CASES: CorpusCase[] = [
  vg.ok('the DESIGN example'),
  vg.ok('IPv6 VTEPs', vteps('2001:db8::1', '2001:db8::2')),
  vg.ok('private and CGNAT IPv4', vteps('10.0.0.1', '100.64.0.1', '172.16.0.1')),
  vg.ok('VNI 16777215', { vni: 16777215 }),
  vg.ok('weight 256', { vteps: [{ ip: '198.51.100.2', weight: 256 }] }),
  vg.ok('no MACs', { macs: [] }),
  vg.ok('nodeSelector', { nodeSelector: { matchLabels: { rack: 'r1' }, matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } }),
  vg.bad('VNI 0', { vni: 0 }, 'spec.vni'),
  vg.bad('VNI 2^24', { vni: 16777216 }, 'spec.vni'),
  vg.bad('VNI as a string', { vni: '100' }, 'spec.vni'),
  vg.bad('weight 0', { vteps: [{ ip: '198.51.100.2', weight: 0 }] }, 'spec.vteps[0].weight'),
  vg.bad('weight 257', { vteps: [{ ip: '198.51.100.2' }, { ip: '198.51.100.3', weight: 257 }] }, 'spec.vteps[1].weight'),
  vg.bad('octet 256', vteps('198.51.100.256'), 'spec.vteps[0].ip'),
  vg.bad('not an IP', vteps('vtep-a'), 'spec.vteps[0].ip'),
  vg.bad('IPv4 leading zero', vteps('198.51.100.02'), 'spec.vteps[0].ip'),
  vg.bad('IPv6 uppercase', vteps('2001:DB8::1'), 'spec.vteps[0].ip'),
  vg.bad('IPv6 uncompressed', vteps('2001:db8:0:0:0:0:0:1'), 'spec.vteps[0].ip'),
  vg.bad('IPv6 leading zeros', vteps('2001:0db8::1'), 'spec.vteps[0].ip'),
  vg.bad('IPv4-mapped IPv6', vteps('::ffff:198.51.100.2'), 'spec.vteps[0].ip'),
  vg.bad('IPv6 zone', vteps('fe80::1%eth0'), 'spec.vteps[0].ip'),
  vg.bad('IPv6 link-local', vteps('fe80::1'), 'spec.vteps[0].ip'),
  vg.bad('IPv6 multicast', vteps('ff02::1'), 'spec.vteps[0].ip'),
  vg.bad('IPv6 loopback', vteps('::1'), 'spec.vteps[0].ip'),
  vg.bad('IPv4 loopback', vteps('127.0.0.1'), 'spec.vteps[0].ip'),
  vg.bad('IPv4 multicast', vteps('198.51.100.2', '239.1.1.1'), 'spec.vteps[1].ip'),
  vg.bad('IPv4 link-local', vteps('169.254.1.1'), 'spec.vteps[0].ip'),
  vg.bad('IPv4 unspecified', vteps('0.0.0.0'), 'spec.vteps[0].ip'),
  vg.bad('IPv4 broadcast', vteps('255.255.255.255'), 'spec.vteps[0].ip'),
  vg.bad('IP with prefix length', vteps('198.51.100.2/32'), 'spec.vteps[0].ip'),
  vg.bad('duplicate VTEPs', vteps('198.51.100.2', '198.51.100.3', '198.51.100.2'), 'spec.vteps[2]'),
  vg.bad('mixed address families', vteps('198.51.100.2', '2001:db8::2'), 'spec.vteps'),
  vg.bad('no VTEPs', { vteps: [] }, 'spec.vteps'),
  vg.bad('65 VTEPs', vteps(...Array.from({ length: 65 }, (_, i) => `10.0.${i >> 8}.${(i & 255) + 1}`)), 'spec.vteps'),
  vg.bad('VTEP without ip', { vteps: [{ weight: 2 }] }, 'spec.vteps[0].ip'),
  vg.bad('multicast MAC', { macs: ['01:00:5e:00:00:01'] }, 'spec.macs[0]'),
  vg.bad('broadcast MAC', { macs: ['02:00:00:00:00:01', 'ff:ff:ff:ff:ff:ff'] }, 'spec.macs[1]'),
  vg.bad('all-zeros MAC', { macs: ['00:00:00:00:00:00'] }, 'spec.macs[0]'),
  vg.bad('uppercase MAC', { macs: ['02:00:00:00:00:AA'] }, 'spec.macs[0]'),
  vg.bad('dashed MAC', { macs: ['02-00-00-00-00-aa'] }, 'spec.macs[0]'),
  vg.bad('duplicate MAC', { macs: ['02:00:00:00:00:aa', '02:00:00:00:00:aa'] }, 'spec.macs[1]'),
  vg.bad('missing fabric', { fabric: undefined }, 'spec.fabric'),
  vg.bad('empty fabric name', { fabric: '' }, 'spec.fabric'),
  vg.bad('fabric name not DNS-1123', { fabric: 'My_Fabric' }, 'spec.fabric'),
  vg.bad('missing vni', { vni: undefined }, 'spec.vni'),
  vg.bad('unknown field', { vtepz: [] }, 'spec.vtepz'),
  vg.bad('unknown field in a VTEP', { vteps: [{ ip: '198.51.100.2', wieght: 2 }] }, 'spec.vteps[0].wieght'),
  vg.bad('bad selector operator', { nodeSelector: { matchExpressions: [{ key: 'zone', operator: 'Within' }] } }, 'spec.nodeSelector.matchExpressions[0].operator'),
  // Label selectors as apimachinery validates them (issue 18): a selector no Node can match is a typo.
  vg.ok('selector: Exists without values, NotIn with values, prefixed keys, an empty label value', {
    nodeSelector: {
      matchLabels: { 'kubernetes.io/hostname': 'node-a', 'evpn.ecmp.dev/role': '' },
      matchExpressions: [
        { key: 'topology.kubernetes.io/zone', operator: 'Exists' },
        { key: 'rack', operator: 'NotIn', values: ['r1', 'r2.a_b-c'] },
        { key: 'gpu', operator: 'DoesNotExist', values: [] },
      ],
    },
  }),
  vg.bad('selector: In without values', { nodeSelector: { matchExpressions: [{ key: 'zone', operator: 'In' }] } }, 'spec.nodeSelector.matchExpressions[0].values'),
  vg.bad('selector: NotIn with no values', { nodeSelector: { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: [] }] } }, 'spec.nodeSelector.matchExpressions[0].values'),
  vg.bad('selector: Exists with values', { nodeSelector: { matchExpressions: [{ key: 'zone', operator: 'Exists', values: ['a'] }] } }, 'spec.nodeSelector.matchExpressions[0].values'),
  vg.bad('selector: key with a space', { nodeSelector: { matchExpressions: [{ key: 'zone a', operator: 'Exists' }] } }, 'spec.nodeSelector.matchExpressions[0].key'),
  vg.bad('selector: key with two slashes', { nodeSelector: { matchExpressions: [{ key: 'a/b/c', operator: 'Exists' }] } }, 'spec.nodeSelector.matchExpressions[0].key'),
  vg.bad('selector: key with an empty name', { nodeSelector: { matchExpressions: [{ key: 'example.com/', operator: 'Exists' }] } }, 'spec.nodeSelector.matchExpressions[0].key'),
  vg.bad('selector: key with an uppercase prefix', { nodeSelector: { matchExpressions: [{ key: 'Example.com/zone', operator: 'Exists' }] } }, 'spec.nodeSelector.matchExpressions[0].key'),
  vg.bad('selector: key name of 64 characters', { nodeSelector: { matchExpressions: [{ key: 'k'.repeat(64), operator: 'Exists' }] } }, 'spec.nodeSelector.matchExpressions[0].key'),
  vg.bad('selector: key prefix of 254 characters', { nodeSelector: { matchExpressions: [{ key: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}/zone`, operator: 'Exists' }] } }, 'spec.nodeSelector.matchExpressions[0].key'),
  vg.bad('selector: value with a space', { nodeSelector: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a b'] }] } }, 'spec.nodeSelector.matchExpressions[0].values[0]'),
  vg.bad('selector: 33 requirements', { nodeSelector: { matchExpressions: Array.from({ length: 33 }, (_, i) => ({ key: `k${i}`, operator: 'Exists' })) } }, 'spec.nodeSelector.matchExpressions'),
  vg.bad('matchLabels: key with a space', { nodeSelector: { matchLabels: { 'rack one': 'r1' } } }, 'spec.nodeSelector.matchLabels'),
  vg.bad('matchLabels: key ending in a dash', { nodeSelector: { matchLabels: { 'rack-': 'r1' } } }, 'spec.nodeSelector.matchLabels'),
  vg.bad('matchLabels: 33 labels', { nodeSelector: { matchLabels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) } }, 'spec.nodeSelector.matchLabels'),
  { ...vg.bad('object name not DNS-1123', {}, 'metadata.name'), metadataName: 'Web_Group' },
];

export const EVPN_FABRIC_CASES: CorpusCase[] = [
  ok('EvpnFabric', 'empty spec: all defaults', {}),
  ok('EvpnFabric', 'the DESIGN example', {
    nodeSelector: {},
    underlay: { addressFamily: 'IPv4', localAddressFrom: 'InternalIP' },
    vxlan: { port: 4789, deviceTemplate: 'evpn-{vni}' },
    ovs: {
      bridge: 'br-evpn',
      tunnelPort: 'evpn-vxlan',
      tableBase: 0,
      groupIdRange: { start: 65536, size: 65536 },
      selectionMethod: 'dp_hash',
      cookie: '0x45564e0000000000',
      cookieMask: '0xffffffff00000000',
    },
    kernel: { manage: true, mirrorLearned: true, protocol: 236, nexthopIdRange: { start: 3959422976, size: 1048576 } },
  }),
  ok('EvpnFabric', 'IPv6 underlay, annotation addresses, hash', {
    underlay: { addressFamily: 'IPv6', localAddressFrom: 'Annotation' },
    ovs: { selectionMethod: 'hash', tableBase: 252 },
  }),
  ok('EvpnFabric', 'group range ending at OFPG_MAX', { ovs: { groupIdRange: { start: 4294967040, size: 1 } } }),
  ok('EvpnFabric', 'nexthop range ending at 2^32-1', { kernel: { nexthopIdRange: { start: 4294967295, size: 1 } } }),
  bad('EvpnFabric', 'address family IPv5', { underlay: { addressFamily: 'IPv5' } }, 'spec.underlay.addressFamily'),
  bad('EvpnFabric', 'port 0', { vxlan: { port: 0 } }, 'spec.vxlan.port'),
  bad('EvpnFabric', 'port 65536', { vxlan: { port: 65536 } }, 'spec.vxlan.port'),
  bad('EvpnFabric', 'device template without {vni}', { vxlan: { deviceTemplate: 'vx' } }, 'spec.vxlan.deviceTemplate'),
  bad('EvpnFabric', 'device template too long', { vxlan: { deviceTemplate: 'evpn-fabric-{vni}' } }, 'spec.vxlan.deviceTemplate'),
  bad('EvpnFabric', 'table base 253 (three tables from it)', { ovs: { tableBase: 253 } }, 'spec.ovs.tableBase'),
  ok('EvpnFabric', 'single VXLAN device mode', { vxlan: { mode: 'Single', device: 'vxlan0', bridge: 'br0' }, kernel: { exportLocalMacs: false } }),
  ok('EvpnFabric', 'per-VNI devices without bridges', { vxlan: { bridgeTemplate: '' } }),
  bad('EvpnFabric', 'unknown VXLAN mode', { vxlan: { mode: 'PerPort' } }, 'spec.vxlan.mode'),
  bad('EvpnFabric', 'bridge template without {vni}', { vxlan: { bridgeTemplate: 'br' } }, 'spec.vxlan.bridgeTemplate'),
  bad('EvpnFabric', 'single device name too long', { vxlan: { device: 'a-very-long-device' } }, 'spec.vxlan.device'),
  bad('EvpnFabric', 'group range beyond OFPG_MAX', { ovs: { groupIdRange: { start: 4294967040, size: 2 } } }, 'spec.ovs.groupIdRange.size'),
  bad('EvpnFabric', 'group range size 0', { ovs: { groupIdRange: { start: 1, size: 0 } } }, 'spec.ovs.groupIdRange.size'),
  bad('EvpnFabric', 'nexthop range beyond 2^32-1', { kernel: { nexthopIdRange: { start: 4294967295, size: 2 } } }, 'spec.kernel.nexthopIdRange.size'),
  bad('EvpnFabric', 'nexthop id 0', { kernel: { nexthopIdRange: { start: 0, size: 1 } } }, 'spec.kernel.nexthopIdRange.start'),
  bad('EvpnFabric', 'kernel\'s own protocol', { kernel: { protocol: 2 } }, 'spec.kernel.protocol'),
  bad('EvpnFabric', 'protocol 256', { kernel: { protocol: 256 } }, 'spec.kernel.protocol'),
  bad('EvpnFabric', 'selection method', { ovs: { selectionMethod: 'round_robin' } }, 'spec.ovs.selectionMethod'),
  bad('EvpnFabric', 'uppercase cookie', { ovs: { cookie: '0x45564E0000000000' } }, 'spec.ovs.cookie'),
  bad('EvpnFabric', 'cookie without 0x', { ovs: { cookie: '45564e0000000000' } }, 'spec.ovs.cookie'),
  bad('EvpnFabric', 'bridge name too long', { ovs: { bridge: 'br-evpn-too-long-name' } }, 'spec.ovs.bridge'),
  bad('EvpnFabric', 'manage as a string', { kernel: { manage: 'yes' } }, 'spec.kernel.manage'),
  bad('EvpnFabric', 'unknown field', { ovs: { brigde: 'br0' } }, 'spec.ovs.brigde'),
  // Settings that would make the agent touch other software's flows (issue 18).
  ok('EvpnFabric', 'cookie and mask with leading zeros', { ovs: { cookie: '0x0000000100000000', cookieMask: '0x0000000f00000000' } }),
  ok('EvpnFabric', 'an 8-bit mask at the top', { ovs: { cookie: '0x4500000000000000', cookieMask: '0xff00000000000000' } }),
  ok('EvpnFabric', 'cookie using part of its mask', { ovs: { cookie: '0x0000000300000000', cookieMask: '0xffffff0f00000000' } }),
  bad('EvpnFabric', 'cookie 0x0 with mask 0x0 (every flow on the bridge)', { ovs: { cookie: '0x0', cookieMask: '0x0' } }, 'spec.ovs.cookieMask'),
  bad('EvpnFabric', 'mask 0x0', { ovs: { cookieMask: '0x0' } }, 'spec.ovs.cookieMask'),
  bad('EvpnFabric', 'cookie 0x0 (flows added without a cookie)', { ovs: { cookie: '0x0' } }, 'spec.ovs.cookie'),
  bad('EvpnFabric', 'cookie 0xff with the default mask', { ovs: { cookie: '0xff' } }, 'spec.ovs.cookie'),
  bad('EvpnFabric', 'cookie bit above the mask', { ovs: { cookie: '0x8000000000000000', cookieMask: '0x7fffffff00000000' } }, 'spec.ovs.cookie'),
  bad('EvpnFabric', 'cookie bit inside a mask nibble it does not cover', { ovs: { cookie: '0x0000000400000000', cookieMask: '0xffffff0b00000000' } }, 'spec.ovs.cookie'),
  bad('EvpnFabric', 'mask covering the nexthop-id bits', { ovs: { cookieMask: '0xffffffffffffffff' } }, 'spec.ovs.cookieMask'),
  bad('EvpnFabric', 'mask with one low bit', { ovs: { cookieMask: '0xffffffff00000001' } }, 'spec.ovs.cookieMask'),
  bad('EvpnFabric', 'mask wider than 64 bits', { ovs: { cookieMask: '0x1ffffffff00000000' } }, 'spec.ovs.cookieMask'),
  bad('EvpnFabric', 'mask of 17 digits with a leading zero', { ovs: { cookieMask: '0x0ffffffff00000000' } }, 'spec.ovs.cookieMask'),
  bad('EvpnFabric', 'uppercase mask', { ovs: { cookieMask: '0xFFFFFFFF00000000' } }, 'spec.ovs.cookieMask'),
  bad('EvpnFabric', 'tunnel port named like the bridge', { ovs: { bridge: 'br0', tunnelPort: 'br0' } }, 'spec.ovs.tunnelPort'),
  bad('EvpnFabric', 'tunnel port named like the default bridge', { ovs: { tunnelPort: 'br-evpn' } }, 'spec.ovs.tunnelPort'),
  bad('EvpnFabric', 'bridge ".."', { ovs: { bridge: '..' } }, 'spec.ovs.bridge'),
  bad('EvpnFabric', 'tunnel port "."', { ovs: { tunnelPort: '.' } }, 'spec.ovs.tunnelPort'),
  bad('EvpnFabric', 'bridge with a slash', { ovs: { bridge: 'br/evpn' } }, 'spec.ovs.bridge'),
  bad('EvpnFabric', 'selector In without values', { nodeSelector: { matchExpressions: [{ key: 'evpn', operator: 'In' }] } }, 'spec.nodeSelector.matchExpressions[0].values'),
  bad('EvpnFabric', 'selector label value too long', { nodeSelector: { matchLabels: { evpn: 'x'.repeat(64) } } }, 'spec.nodeSelector.matchLabels.evpn'),
  { ...bad('EvpnFabric', 'object name with uppercase', {}, 'metadata.name'), metadataName: 'Default' },
];

const nodeSpec = (over: Record<string, unknown> = {}) => ({
  fabric: 'default',
  localVtepIP: '192.0.2.1',
  groups: [nodeGroup()],
  ...over,
});
// `group()` carries `fabric`, which a node's group does not have.
function nodeGroup(over: Record<string, unknown> = {}) {
  const { fabric: _f, ...g } = group();
  return { name: 'web', generation: 4, ...g, ...over };
}

export const VTEP_NODE_STATE_CASES: CorpusCase[] = [
  ok('VtepNodeState', 'the DESIGN example', { ...nodeSpec(), groups: [nodeGroup()] }),
  ok('VtepNodeState', 'resolved settings spelled out', {
    ...nodeSpec(),
    groups: [nodeGroup(), nodeGroup({ name: 'db', vni: 200, macs: [] })],
    vxlan: { port: 4790, deviceTemplate: 'vx{vni}' },
    ovs: { bridge: 'br-int', selectionMethod: 'hash' },
    kernel: { manage: false },
  }),
  ok('VtepNodeState', 'no groups', { fabric: 'default', localVtepIP: '2001:db8::1' }),
  bad('VtepNodeState', 'missing fabric', { localVtepIP: '192.0.2.1' }, 'spec.fabric'),
  bad('VtepNodeState', 'missing localVtepIP', { fabric: 'default' }, 'spec.localVtepIP'),
  bad('VtepNodeState', 'loopback local VTEP', { ...nodeSpec(), groups: [], localVtepIP: '127.0.0.1' }, 'spec.localVtepIP'),
  bad('VtepNodeState', 'weight 257 in a group', { ...nodeSpec(), groups: [nodeGroup({ vteps: [{ ip: '198.51.100.2' }, { ip: '198.51.100.3', weight: 257 }] })] }, 'spec.groups[0].vteps[1].weight'),
  bad('VtepNodeState', 'VNI 0 in a group', { ...nodeSpec(), groups: [nodeGroup({ vni: 0 })] }, 'spec.groups[0].vni'),
  bad('VtepNodeState', 'generation 0', { ...nodeSpec(), groups: [nodeGroup({ generation: 0 })] }, 'spec.groups[0].generation'),
  bad('VtepNodeState', 'duplicate group names', { ...nodeSpec(), groups: [nodeGroup(), nodeGroup({ vni: 200 })] }, 'spec.groups[1]'),
  bad('VtepNodeState', 'duplicate VTEP in a group', { ...nodeSpec(), groups: [nodeGroup(vteps('198.51.100.2', '198.51.100.2'))] }, 'spec.groups[0].vteps[1]'),
  bad('VtepNodeState', 'multicast MAC in a group', { ...nodeSpec(), groups: [nodeGroup({ macs: ['33:33:00:00:00:01'] })] }, 'spec.groups[0].macs[0]'),
  bad('VtepNodeState', 'VTEP IP with uppercase', { ...nodeSpec(), groups: [nodeGroup(vteps('2001:DB8::1'))] }, 'spec.groups[0].vteps[0].ip'),
  bad('VtepNodeState', 'group without name', { ...nodeSpec(), groups: [nodeGroup({ name: undefined })] }, 'spec.groups[0].name'),
  bad('VtepNodeState', 'unknown field in a group', { ...nodeSpec(), groups: [nodeGroup({ weight: 1 })] }, 'spec.groups[0].weight'),
  bad('VtepNodeState', 'resolved cookie outside its mask', { ...nodeSpec(), ovs: { cookie: '0xff' } }, 'spec.ovs.cookie'),
  bad('VtepNodeState', 'resolved mask 0x0', { ...nodeSpec(), ovs: { cookie: '0x0', cookieMask: '0x0' } }, 'spec.ovs.cookieMask'),
  bad('VtepNodeState', 'resolved tunnel port equal to the bridge', { ...nodeSpec(), ovs: { bridge: 'br-int', tunnelPort: 'br-int' } }, 'spec.ovs.tunnelPort'),
  { ...bad('VtepNodeState', 'object name with an underscore', nodeSpec(), 'metadata.name'), metadataName: 'node_a' },
];

/**
 * Address spellings with the verdicts Go's net/netip gives (the apiserver's
 * CEL `isIP`, `ip.isCanonical`, `isGlobalUnicast`).
 */
export const ADDRESSES: [string, { ip: boolean; canonical?: boolean; unicast?: boolean }][] = [
  ['198.51.100.2', { ip: true, canonical: true, unicast: true }],
  ['10.0.0.1', { ip: true, canonical: true, unicast: true }],
  ['0.0.0.0', { ip: true, canonical: true, unicast: false }],
  ['255.255.255.255', { ip: true, canonical: true, unicast: false }],
  ['127.0.0.1', { ip: true, canonical: true, unicast: false }],
  ['224.0.0.1', { ip: true, canonical: true, unicast: false }],
  ['239.255.255.255', { ip: true, canonical: true, unicast: false }],
  ['240.0.0.1', { ip: true, canonical: true, unicast: true }],
  ['169.254.0.1', { ip: true, canonical: true, unicast: false }],
  ['198.51.100.02', { ip: false }],
  ['198.51.100', { ip: false }],
  ['198.51.100.256', { ip: false }],
  ['198.51.100.2.1', { ip: false }],
  [' 198.51.100.2', { ip: false }],
  ['', { ip: false }],
  ['2001:db8::1', { ip: true, canonical: true, unicast: true }],
  ['2001:DB8::1', { ip: true, canonical: false, unicast: true }],
  ['2001:db8:0:0:0:0:0:1', { ip: true, canonical: false, unicast: true }],
  ['2001:0db8::1', { ip: true, canonical: false, unicast: true }],
  ['2001:db8::0:1', { ip: true, canonical: false, unicast: true }],
  ['2001:db8:0:1::', { ip: true, canonical: true, unicast: true }],
  ['2001:db8:0:1:0:0:0:0', { ip: true, canonical: false, unicast: true }],
  ['1:0:0:1:0:0:0:1', { ip: true, canonical: false, unicast: true }],
  ['1::1:0:0:0:1', { ip: true, canonical: false, unicast: true }],
  ['1:0:0:1::1', { ip: true, canonical: true, unicast: true }],
  ['1:2:3:4:5:6:7::', { ip: true, canonical: false, unicast: true }],
  ['1:2:3:4:5:6:7:0', { ip: true, canonical: true, unicast: true }],
  ['::', { ip: true, canonical: true, unicast: false }],
  ['::1', { ip: true, canonical: true, unicast: false }],
  ['fe80::1', { ip: true, canonical: true, unicast: false }],
  ['febf::1', { ip: true, canonical: true, unicast: false }],
  ['fec0::1', { ip: true, canonical: true, unicast: true }],
  ['ff02::1', { ip: true, canonical: true, unicast: false }],
  ['::1.2.3.4', { ip: true, canonical: false, unicast: true }],
  ['::102:304', { ip: true, canonical: true, unicast: true }],
  ['::ffff:198.51.100.2', { ip: false }],
  ['::ffff:c633:6402', { ip: false }],
  ['fe80::1%eth0', { ip: false }],
  ['1:2:3:4:5:6:7:8:9', { ip: false }],
  ['1:2:3:4:5:6:7:8::', { ip: false }],
  ['1::2::3', { ip: false }],
  ['1:2:3:4:5:6:7', { ip: false }],
  ['12345::1', { ip: false }],
  ['1.2.3.4::', { ip: false }],
  ['::1.2.3', { ip: false }],
  [':1::2', { ip: false }],
  ['1::2:', { ip: false }],
  ['2001:db8::1/128', { ip: false }],
];

export const ALL_CASES: CorpusCase[] = [...VTEP_GROUP_CASES, ...EVPN_FABRIC_CASES, ...VTEP_NODE_STATE_CASES];

/** Timestamps with the verdicts of the apiserver's `format: date-time` (Go time.Parse, RFC 3339). */
export const TIMESTAMPS: [string, boolean][] = [
  ['2026-11-21T06:00:00Z', true],
  ['2026-11-21T06:00:00.000Z', true],
  ['2026-11-21T06:00:00.123456789Z', true],
  ['2026-11-21T06:00:00+02:00', true],
  ['2026-11-21t06:00:00z', true],
  ['2024-02-29T00:00:00Z', true],
  ['2026-11-21T06:00:00+0200', false],
  ['2026-11-21T06:00:00', false],
  ['2026-11-21 06:00:00Z', false],
  ['2026-11-21', false],
  ['2026-02-29T06:00:00Z', false],
  ['2026-02-30T06:00:00Z', false],
  ['2026-13-01T06:00:00Z', false],
  ['2026-11-21T24:00:00Z', false],
  ['2026-11-21T23:59:60Z', false],
  ['2026-11-21T06:00:00+24:00', true],
  ['2026-11-21T06:00:00-02:60', true],
  ['2026-11-21T06:00:00+25:00', true],
  ['2026-11-21T06:00:00+99:99', true],
  ['2026-11-21T06:00:00+2:00', false],
  ['2026-11-21T06:00:00.Z', false],
  ['0000-01-01T00:00:00Z', true],
  ['2100-02-29T00:00:00Z', false],
  ['2000-02-29T00:00:00Z', true],
  ['yesterday', false],
  ['', false],
];
