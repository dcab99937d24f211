/**
 * EvpnFabric: fabric-wide settings (DESIGN 3, 3.1). Its vxlan/ovs/kernel
 * blocks are also the resolved settings each VtepNodeState carries.
 */
import { z } from 'zod';
import { API_GROUP_VERSION, conditions, interfaceName, labelSelector, objectMeta, observedGeneration } from './common.js';
import { withRules } from './rules.js';

/** OFPG_MAX: OpenFlow group ids above it are reserved (OFPG_ALL, OFPG_ANY). */
export const OFPG_MAX = 0xffffff00;
const UINT32_MAX = 0xffffffff;

const perVniName = (what: string, def: string, optional: boolean) =>
  z
    .string()
    .max(12)
    .regex(
      optional ? /^(?:[A-Za-z0-9_.-]*\{vni\}[A-Za-z0-9_.-]*)?$/ : /^[A-Za-z0-9_.-]*\{vni\}[A-Za-z0-9_.-]*$/,
      `must ${optional ? 'be empty or ' : ''}contain "{vni}" and otherwise only letters, digits, "_", "." or "-"`,
    )
    .default(def)
    .describe(
      `PerVni mode: name of the kernel ${what} for a VNI, "{vni}" replaced by the decimal VNI (default "${def}"). ` +
        'At most 12 characters, so that the name with an 8-digit VNI fits IFNAMSIZ.',
    );

export const vxlanSettings = z
  .strictObject({
    port: z.int().min(1).max(65535).default(4789).describe('UDP destination port of the fabric\'s VXLAN traffic (default 4789, IANA).'),
    mode: z
      .enum(['PerVni', 'Single'])
      .default('PerVni')
      .describe(
        'Kernel VXLAN layout. PerVni (default): one VXLAN device per VNI, each in a bridge of its own. ' +
          'Single: one "external vnifilter" VXLAN device on a VLAN-aware bridge, a VLAN per VNI (FRR\'s single VXLAN device layout); FDB entries are keyed by MAC and VNI.',
      ),
    deviceTemplate: perVniName('VXLAN device', 'evpn-{vni}', false),
    bridgeTemplate: perVniName(
      'bridge that holds the VNI\'s VXLAN device (an EVPN control plane such as FRR\'s zebra maps a VNI to its bridge; empty: no bridge)',
      'evpnbr-{vni}',
      true,
    ),
    device: interfaceName('Single mode: the one VXLAN device (default evpn0).', 'evpn0'),
    bridge: interfaceName('Single mode: the VLAN-aware bridge of the VXLAN device (default evpnbr0).', 'evpnbr0'),
  })
  .describe('VXLAN encapsulation settings, and the kernel devices the agent creates and owns when kernel.manage is on.');

const idRange = (what: string, max: number, defStart: number, defSize: number, maxName: string) =>
  withRules(
    z
      .strictObject({
        start: z.int().min(1).max(max).describe(`First ${what} id of the range.`),
        size: z.int().min(1).max(max).describe(`Number of ${what} ids in the range.`),
      })
      .prefault({ start: defStart, size: defSize })
      .describe(`Range of ${what} ids the agent allocates from; it never touches ids outside it.`),
    {
      rule: `self.start + self.size - 1 <= ${max}`,
      message: `the range must end at or below ${maxName}`,
      fieldPath: '.size',
      holds: (r) => r.start + r.size - 1 <= max,
    },
  );

/**
 * Cookies are how the agent tells its flows from everyone else's on a
 * shared bridge (DESIGN 4): a flow is ours when `cookie & cookieMask ==
 * cookie`, and every delete and modify the agent sends carries that match
 * (OpenFlow 1.5 §7.3.4.2, cookie/cookie_mask in flow mods). So:
 * - the mask must not be zero: a zero mask makes every flow on the bridge
 *   "ours" (a bridge's NORMAL flow, another controller's tables);
 * - the mask must leave the low 32 bits free: ECMP flows carry the kernel
 *   nexthop id there, which is how a restarted agent recovers its group ids
 *   (src/agent README, "Ids");
 * - the cookie must have no bit outside the mask (bits outside it are not
 *   compared, so the agent would claim flows whose cookie differs there, and
 *   its own flows would carry an nhid that is not theirs) and must not be
 *   zero (0 is the cookie of every flow added without one).
 */
const HEX64 = '^0x[0-9a-f]{1,16}$';
const hex64 = new RegExp(HEX64);
/** Non-zero, low 32 bits (8 hex digits) zero, at most 64 bits. */
const COOKIE_MASK_PATTERN = '^0x0*[1-9a-f][0-9a-f]{0,7}00000000$';

/**
 * The subset test in CEL, which has neither bitwise operators nor hex
 * parsing: nibble by nibble from the right (missing leading digits are 0),
 * the cookie's nibble must be a key of the table of its mask nibble's
 * submasks. Only charAt, size and map lookups: the apiserver's cost
 * estimator refuses substring/concatenation results fed to further string
 * functions (their sizes are unbounded to it).
 */
const HEX_DIGITS = [...'0123456789abcdef'];
const celSubmasks = `{${HEX_DIGITS.map(
  (m) => `'${m}': {${HEX_DIGITS.filter((c) => (parseInt(c, 16) & ~parseInt(m, 16)) === 0).map((c) => `'${c}': true`).join(', ')}}`,
).join(', ')}}`;
const celNibble = (field: string) => `(size(${field}) - 3 >= j ? ${field}.charAt(size(${field}) - 1 - j) : '0')`;

/** Cookie bits all inside the mask; true when either is malformed (their own patterns report that). */
function cookieInsideMask(cookie: string, mask: string): boolean {
  if (!hex64.test(cookie) || !hex64.test(mask)) return true;
  return (BigInt(cookie) & ~BigInt(mask)) === 0n;
}

export const ovsSettings = withRules(
  z
    .strictObject({
      bridge: interfaceName('Open vSwitch bridge the agent programs (default br-evpn).', 'br-evpn'),
      tunnelPort: interfaceName(
        'Flow-based VXLAN port (remote_ip=flow, key=flow) the agent ensures on the bridge (default evpn-vxlan); must differ from the bridge name.',
        'evpn-vxlan',
      ),
      tableBase: z
        .int()
        .min(0)
        .max(252)
        .default(0)
        .describe('First of the three OpenFlow tables the agent owns (tableBase: classify by VNI; tableBase+1: forward what local ports send, by MAC; tableBase+2: deliver what the fabric sends to local ports, by MAC).'),
      groupIdRange: idRange('OpenFlow group', OFPG_MAX, 65536, 65536, 'OFPG_MAX (0xffffff00)'),
      selectionMethod: z
        .enum(['dp_hash', 'hash'])
        .default('dp_hash')
        .describe('Select-group selection method: dp_hash (default; follows weights closely) or hash.'),
      bucketLayout: z
        .enum(['slots', 'weights'])
        .default('slots')
        .describe(
          'dp_hash groups only. slots (default): the agent writes 16 to 256 equal buckets (hash slots) and deals them to the VTEPs by weight, ' +
            'so a member or weight change moves only the flows it must (a 5th VTEP joining 4 moves about 20 %). ' +
            'weights: one bucket per VTEP with its weight; Open vSwitch deals the slots itself and re-deals most of them on any change (about 75 %).',
        ),
      cookie: z
        .string()
        .max(18)
        .regex(hex64, 'must be a lowercase hex number such as 0x45564e0000000000')
        .refine((c) => !hex64.test(c) || BigInt(c) !== 0n, 'must not be zero (flows added without a cookie carry 0, and the agent would take them for its own)')
        .default('0x45564e0000000000')
        .describe(
          'OpenFlow cookie on every flow the agent writes, as 0x-prefixed lowercase hex: non-zero, with no bit outside cookieMask. ' +
            'The agent reads, modifies and deletes only flows whose cookie matches it under cookieMask.',
        )
        .meta({ not: { pattern: '^0x0+$' } }),
      cookieMask: z
        .string()
        .max(18)
        .regex(
          new RegExp(COOKIE_MASK_PATTERN),
          'must be a non-zero lowercase hex number whose low 32 bits are zero, such as 0xffffffff00000000 (the agent keeps the kernel nexthop id in those bits)',
        )
        .default('0xffffffff00000000')
        .describe(
          'A flow is the agent\'s when (flow cookie & cookieMask) == cookie; 0x-prefixed lowercase hex, non-zero, low 32 bits zero ' +
            '(ECMP flows carry the kernel nexthop id there).',
        ),
    })
    .describe('Open vSwitch settings.'),
  // The has() guards are for the apiserver's check of the block's own
  // default ({}), which it evaluates before nested defaults are filled in.
  {
    rule: '!has(self.bridge) || !has(self.tunnelPort) || self.bridge != self.tunnelPort',
    message: 'must differ from bridge (the tunnel port is a port of the bridge, and the bridge has an internal port of its own name)',
    fieldPath: '.tunnelPort',
    holds: (o) => o.bridge !== o.tunnelPort,
  },
  {
    rule:
      `!has(self.cookie) || !has(self.cookieMask) || !self.cookie.matches('${HEX64}') || !self.cookieMask.matches('${HEX64}') || ` +
      `[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].all(j, ${celNibble('self.cookie')} in ${celSubmasks}[${celNibble('self.cookieMask')}])`,
    message: 'must have no bit set outside cookieMask',
    fieldPath: '.cookie',
    holds: (o) => cookieInsideMask(o.cookie, o.cookieMask),
  },
).prefault({});

export const kernelSettings = z
  .strictObject({
    manage: z.boolean().default(true).describe('Write VtepGroups into the kernel (fdb nexthops, nexthop groups, FDB entries).'),
    mirrorLearned: z
      .boolean()
      .default(true)
      .describe('Also mirror into Open vSwitch the ECMP FDB entries other software (e.g. FRR) installed.'),
    protocol: z
      .int()
      .min(5)
      .max(255)
      .default(236)
      .describe(
        'rtnetlink protocol number that marks every nexthop and FDB entry the agent writes (default 236). ' +
          'Values below 5 are the kernel\'s own (unspec, redirect, kernel, boot, static).',
      ),
    nexthopIdRange: idRange('kernel nexthop', UINT32_MAX, 3959422976, 1048576, '4294967295'),
    exportLocalMacs: z
      .boolean()
      .default(true)
      .describe(
        'With manage: each local workload MAC (an Open vSwitch port with external_ids:evpn-vni) becomes a static FDB entry on the VNI\'s bridge, ' +
          'on an access port the agent owns, so an EVPN control plane advertises it (type-2 route).',
      ),
  })
  .prefault({})
  .describe('Kernel settings.');

export const underlaySettings = z
  .strictObject({
    addressFamily: z.enum(['IPv4', 'IPv6']).default('IPv4').describe('Address family of the underlay: IPv4 (default) or IPv6.'),
    localAddressFrom: z
      .enum(['InternalIP', 'Annotation'])
      .default('InternalIP')
      .describe(
        'Where a node\'s local VTEP IP comes from: its InternalIP of the fabric\'s family (default), ' +
          'or the evpn.ecmp.dev/vtep-ip annotation on the Node.',
      ),
  })
  .prefault({})
  .describe('Underlay network settings.');

export const evpnFabricSpec = z
  .strictObject({
    nodeSelector: labelSelector.prefault({}),
    underlay: underlaySettings,
    vxlan: vxlanSettings.prefault({}),
    ovs: ovsSettings,
    kernel: kernelSettings,
  })
  .describe('Fabric-wide settings, resolved per node into VtepNodeState.spec.');

export const evpnFabricStatus = z
  .strictObject({
    observedGeneration: observedGeneration.optional(),
    conditions: conditions.optional(),
    nodesTotal: z.int().min(0).optional().describe('Nodes the fabric selects.'),
    nodesReady: z.int().min(0).optional().describe('Selected nodes whose agent reports Ready at the current spec.'),
    ready: z.string().max(32).optional().describe('"nodesReady/nodesTotal", e.g. "3/3", filled by the operator for the READY column.'),
  })
  .describe('Observed state, written by the operator.');

export const evpnFabric = z
  .strictObject({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal('EvpnFabric'),
    metadata: objectMeta,
    spec: evpnFabricSpec.prefault({}),
    status: evpnFabricStatus.optional(),
  })
  .describe('EvpnFabric: fabric-wide EVPN ECMP settings.');

export type VxlanSettings = z.output<typeof vxlanSettings>;
export type OvsSettings = z.output<typeof ovsSettings>;
export type KernelSettings = z.output<typeof kernelSettings>;
export type UnderlaySettings = z.output<typeof underlaySettings>;
export type EvpnFabricSpec = z.output<typeof evpnFabricSpec>;
export type EvpnFabricStatus = z.output<typeof evpnFabricStatus>;
export type EvpnFabric = z.output<typeof evpnFabric>;
