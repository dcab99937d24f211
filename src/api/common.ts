/**
 * Schema pieces shared by the three resources: addresses, identifiers,
 * Kubernetes' own LabelSelector and Condition shapes.
 */
import { z } from 'zod';
import {
  isCanonicalIp,
  isGlobalUnicastIp,
  isIp,
  ipFamily,
  isRfc3339DateTime,
  UNICAST_MAC_PATTERN,
  VNI_MAX,
  VNI_MIN,
  ZERO_MAC,
} from './net.js';
import { listMap, maxProperties, openapi, withRules } from './rules.js';

export const API_GROUP = 'evpn.ecmp.dev';
export const API_VERSION = 'v1alpha1';
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** Longest textual IPv6 address the canonical form can produce (`ffff:…:ffff`). */
const IP_MAX_LENGTH = 39;

/** DNS-1123 subdomain: lowercase labels of letters, digits and "-", joined by dots. */
const DNS_SUBDOMAIN = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';

/**
 * Kubernetes object name (DNS-1123 subdomain, at most 253 characters), as
 * the apiserver requires of metadata.name (apimachinery
 * `NameIsDNSSubdomain`) and of every reference to an object by name.
 */
export const objectName = (description: string) =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(new RegExp(`^${DNS_SUBDOMAIN}$`), 'must be a lowercase DNS-1123 subdomain')
    .describe(description);

/**
 * A unicast IP address in canonical form. Canonical so that equal addresses
 * are equal strings: list-map keys, kernel dumps and status all compare
 * VTEPs as text. The `isIP` guard keeps `ip()` from erroring on garbage, so
 * the apiserver reports only the first message for it, as zod does.
 */
export const unicastIp = (description: string) =>
  withRules(
    z.string().max(IP_MAX_LENGTH).describe(description),
    { rule: 'isIP(self)', message: 'must be an IPv4 or IPv6 address', holds: isIp },
    {
      rule: '!isIP(self) || ip.isCanonical(self)',
      message: 'must be written in canonical form (lowercase, zeros compressed, e.g. 2001:db8::1)',
      holds: (s) => !isIp(s) || isCanonicalIp(s),
    },
    {
      rule: '!isIP(self) || ip(self).isGlobalUnicast()',
      message: 'must be a unicast address (not unspecified, loopback, link-local, multicast or broadcast)',
      holds: (s) => !isIp(s) || isGlobalUnicastIp(s),
    },
  );

/**
 * An IP address by its spelling only (lowercase hex digits, dots, colons).
 * For lists that can reach tens of thousands of entries — a node's groups —
 * where the apiserver's CEL cost budget cannot afford the full check per
 * entry. Whatever uses it revalidates with `unicastIp`'s rules (see
 * `nodeGroupIssues`) and reports the entry, instead of the whole object
 * being refused.
 */
export const IP_TEXT_PATTERN = '^[0-9a-f.:]{2,39}$';
export const ipText = (description: string) =>
  z.string().regex(new RegExp(IP_TEXT_PATTERN), 'must be an IP address in canonical form').describe(description);

/**
 * Unicast MAC. Format and the I/G bit are one pattern (no CEL cost, which
 * matters in lists of thousands); the all-zeros exclusion is a `not`, since
 * that address is not a host but the VNI's flood list.
 */
export const unicastMac = z
  .string()
  .regex(new RegExp(UNICAST_MAC_PATTERN), 'must be a lowercase unicast MAC such as 02:00:00:00:00:aa (lowest bit of the first octet 0)')
  .refine((m) => m !== ZERO_MAC, `must not be ${ZERO_MAC} (the all-zeros MAC is the flood list, not a host)`)
  .describe('Unicast MAC address, six lowercase hex octets separated by colons (as `bridge fdb` prints them).')
  .meta({ not: { enum: [ZERO_MAC] } });

export const vni = z
  .int()
  .min(VNI_MIN)
  .max(VNI_MAX)
  .describe(`VXLAN network identifier, ${VNI_MIN}–${VNI_MAX} (24 bits; 0 is reserved).`);

export const weight = z
  .int()
  .min(1)
  .max(256)
  .default(1)
  .describe('Relative share of flows sent to this VTEP, 1–256 (default 1): the nexthop group member weight and the OpenFlow bucket weight.');

export const vtep = z
  .strictObject({
    ip: unicastIp('Underlay IP address of the remote VTEP. All VTEPs of a group share one address family, which must be the fabric\'s.'),
    weight,
  })
  .describe('A remote VTEP and its ECMP weight.');

/** VTEPs of one group: 1–64, unique by IP, one address family. */
export const vtepList = (description: string) =>
  withRules(
    listMap(z.array(vtep).min(1).max(64), ['ip']).describe(description),
    {
      rule: 'self.all(v, !isIP(v.ip) || !isIP(self[0].ip) || ip(v.ip).family() == ip(self[0].ip).family())',
      message: 'all VTEPs of a group must be of one address family',
      holds: (vteps) => {
        const first = vteps[0] && ipFamily(vteps[0].ip);
        return vteps.every((v) => first === undefined || ipFamily(v.ip) === undefined || ipFamily(v.ip) === first);
      },
    },
  );

export const MAX_MACS_PER_GROUP = 10000;

/**
 * Interface names become kernel devices (a bridge's internal port and a
 * VXLAN port have netdevs of the same name): IFNAMSIZ (16) minus the NUL,
 * and not "." or "..", which the kernel's `dev_valid_name()` refuses.
 */
export const interfaceName = (description: string, def: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be 1–15 characters of letters, digits, "_", "." or "-"')
    .refine((n) => n !== '.' && n !== '..', 'must not be "." or ".." (not a valid interface name)')
    .default(def)
    .describe(description)
    .meta({ not: { enum: ['.', '..'] } });

/**
 * Label keys and values as apimachinery validates them
 * (`validation.IsQualifiedName`, `IsValidLabelValue`): a key is an optional
 * DNS-1123 subdomain prefix (at most 253 characters) and "/", then a name of
 * 1–63 alphanumerics, "-", "_" or "." that starts and ends alphanumeric; a
 * value is such a name or empty. A selector with a key or value no Node can
 * carry is a typo that would silently select nothing.
 */
export const LABEL_KEY_PATTERN = `^(${DNS_SUBDOMAIN}/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$`;
const LABEL_KEY_MAX = 253 + 1 + 63;
const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';
const labelKeyRe = new RegExp(LABEL_KEY_PATTERN);
const LABEL_KEY_MESSAGE = 'must be a label key: an optional DNS-1123 prefix and "/", then 1–63 letters, digits, "-", "_" or "." starting and ending with a letter or digit';
/** The prefix before "/" is a DNS-1123 subdomain of at most 253 characters. */
const labelKeyPrefixFits = (k: string) => k.indexOf('/') <= 253;
const isLabelKey = (k: string) => k.length <= LABEL_KEY_MAX && labelKeyRe.test(k) && labelKeyPrefixFits(k);

/** Selectors are typed by hand; these bounds keep the apiserver's CEL cost estimate small. */
const MAX_SELECTOR_TERMS = 32;
const MAX_SELECTOR_VALUES = 64;

const labelValue = z
  .string()
  .max(63)
  .regex(new RegExp(LABEL_VALUE_PATTERN), 'must be a label value: empty, or 1–63 letters, digits, "-", "_" or "." starting and ending with a letter or digit');

const labelRequirement = withRules(
  z
    .strictObject({
      key: withRules(
        z.string().min(1).max(LABEL_KEY_MAX).regex(labelKeyRe, LABEL_KEY_MESSAGE).describe('Label key the requirement applies to.'),
        { rule: 'self.indexOf(\'/\') <= 253', message: 'the prefix of a label key must be at most 253 characters', holds: labelKeyPrefixFits },
      ),
      operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']).describe('How the label\'s value relates to values.'),
      values: z
        .array(labelValue)
        .max(MAX_SELECTOR_VALUES)
        .optional()
        .describe(`Values for In and NotIn (1–${MAX_SELECTOR_VALUES}); empty for Exists and DoesNotExist.`),
    })
    .describe('A label selector requirement.'),
  {
    rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
    message: 'In and NotIn need at least one value; Exists and DoesNotExist take none',
    fieldPath: '.values',
    holds: (r) => (r.operator === 'In' || r.operator === 'NotIn' ? (r.values?.length ?? 0) > 0 : (r.values?.length ?? 0) === 0),
  },
);

export const labelSelector = openapi(
  z
    .strictObject({
      matchLabels: withRules(
        maxProperties(z.record(z.string(), labelValue).describe('Labels a node must carry, all of them (ANDed with matchExpressions).'), MAX_SELECTOR_TERMS),
        {
          // CEL string literals take no "\." escape: the pattern's backslashes are doubled.
          rule: `self.all(k, size(k) <= ${LABEL_KEY_MAX} && k.matches('${LABEL_KEY_PATTERN.replaceAll('\\', '\\\\')}') && k.indexOf('/') <= 253)`,
          message: `every key ${LABEL_KEY_MESSAGE}`,
          holds: (labels) => Object.keys(labels).every(isLabelKey),
        },
      ).optional(),
      matchExpressions: z
        .array(labelRequirement)
        .max(MAX_SELECTOR_TERMS)
        .optional()
        .describe('Label selector requirements, all of which must hold.'),
    })
    .describe('Standard Kubernetes label selector over Node labels; empty selects every node.'),
  { 'x-kubernetes-map-type': 'atomic' },
);
export type LabelSelector = z.output<typeof labelSelector>;

/** A timestamp: `format: date-time` for the apiserver, the same rule for zod. */
export const dateTime = (description: string) =>
  z.string().refine(isRfc3339DateTime, 'must be an RFC 3339 date-time such as 2026-11-21T06:00:00Z').describe(description).meta({ format: 'date-time' });

/** metav1.Condition, with the validation upstream CRDs carry for it. */
export const condition = z
  .strictObject({
    type: z
      .string()
      .max(316)
      .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/)
      .describe('Condition type in CamelCase, e.g. Ready.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('True, False or Unknown.'),
    observedGeneration: z.int().min(0).optional().describe('metadata.generation the condition was set for.'),
    lastTransitionTime: dateTime('When the status last changed (RFC 3339).'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe('Machine-readable CamelCase reason for the last transition.'),
    message: z.string().max(32768).describe('Human-readable details; may be empty.'),
  })
  .describe('Standard Kubernetes condition (metav1.Condition).');

export const conditions = listMap(z.array(condition).max(32), ['type']).describe(
  'Standard conditions, one per type, newest state of each.',
);

export const observedGeneration = z
  .int()
  .min(0)
  .describe('metadata.generation of the spec this status describes.');

/** Metadata as far as the API layer cares: name required, everything else passed through. */
export const objectMeta = z
  .looseObject({
    name: objectName('Object name.'),
    generation: z.int().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .describe('Standard object metadata.');
