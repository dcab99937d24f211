/**
 * The three CustomResourceDefinitions, generated from the zod schemas so the
 * two cannot drift: zod's JSON Schema export gives types, bounds, patterns,
 * enums, defaults and required fields; the CEL rules and list semantics ride
 * along as metadata (src/api/rules.ts). The result is cleaned into a
 * Kubernetes *structural* schema (every node typed; no $ref, anyOf or
 * `additionalProperties: false`) — anything zod emits that has no structural
 * equivalent is an error here, not a silently weaker CRD.
 *
 * crds/*.yaml are this module's output, committed; test/unit/api/crds.test.ts
 * fails when they differ from a fresh render (`npx tsx src/api/write-crds.ts`).
 */
import { z } from 'zod';
import { stringify } from 'yaml';
import { API_GROUP, API_VERSION } from './common.js';
import { evpnFabric } from './fabric.js';
import { vtepGroup } from './vtep-group.js';
import { vtepNodeState } from './vtep-node-state.js';

export interface ResourceNames {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

interface ResourceDef {
  names: ResourceNames;
  schema: z.ZodType;
  description: string;
  columns: PrinterColumn[];
  /** Fields a list or watch may select on (`fieldSelector`): GA in Kubernetes 1.32, beta and on by default in 1.31. */
  selectableFields?: { jsonPath: string }[];
}

export const CATEGORY = 'evpn';

const conditionColumn = (name: string, type: string, description: string, priority?: number): PrinterColumn => ({
  name,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
  description,
  ...(priority !== undefined ? { priority } : {}),
});

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' };

export const RESOURCES = {
  EvpnFabric: {
    names: { kind: 'EvpnFabric', listKind: 'EvpnFabricList', plural: 'evpnfabrics', singular: 'evpnfabric', shortNames: ['ef'] },
    schema: evpnFabric,
    description:
      'EvpnFabric holds fabric-wide EVPN ECMP settings: VXLAN port, underlay address family, how a node\'s VTEP IP is chosen, ' +
      'which nodes take part, and the Open vSwitch and kernel settings every agent of the fabric uses.',
    columns: [
      { name: 'Family', type: 'string', jsonPath: '.spec.underlay.addressFamily', description: 'Underlay address family.' },
      { name: 'Port', type: 'integer', jsonPath: '.spec.vxlan.port', description: 'VXLAN UDP port.' },
      { name: 'Bridge', type: 'string', jsonPath: '.spec.ovs.bridge', description: 'Open vSwitch bridge.' },
      { name: 'Ready', type: 'string', jsonPath: '.status.ready', description: 'Ready nodes / selected nodes.' },
      age,
    ],
  },
  VtepGroup: {
    names: { kind: 'VtepGroup', listKind: 'VtepGroupList', plural: 'vtepgroups', singular: 'vtepgroup', shortNames: ['vg'] },
    schema: vtepGroup,
    description:
      'VtepGroup is a set of remote VTEPs that together serve a set of MACs in one VNI. Every selected node sends traffic for ' +
      'those MACs over all the VTEPs, spread by weight (a kernel fdb nexthop group mirrored into an Open vSwitch select group).',
    columns: [
      { name: 'Fabric', type: 'string', jsonPath: '.spec.fabric', description: 'EvpnFabric of the group.' },
      { name: 'VNI', type: 'integer', jsonPath: '.spec.vni', description: 'VXLAN network identifier.' },
      { name: 'VTEPs', type: 'integer', jsonPath: '.status.vtepCount', description: 'Number of VTEPs.' },
      { name: 'MACs', type: 'integer', jsonPath: '.status.macCount', description: 'Number of MACs.' },
      { name: 'Ready', type: 'string', jsonPath: '.status.ready', description: 'Nodes with the current generation programmed / nodes.' },
      age,
    ],
    // Each agent watches only its fabric's groups (fieldSelector=spec.fabric=NAME).
    selectableFields: [{ jsonPath: '.spec.fabric' }],
  },
  VtepNodeState: {
    names: { kind: 'VtepNodeState', listKind: 'VtepNodeStateList', plural: 'vtepnodestates', singular: 'vtepnodestate', shortNames: ['vns'] },
    schema: vtepNodeState,
    description:
      'VtepNodeState is the per-node contract, named after the Node. The operator writes spec (the fabric settings resolved for ' +
      'the node and the groups that apply to it); the node\'s agent writes status (what is live in its kernel and Open vSwitch).',
    columns: [
      conditionColumn('Ready', 'Ready', 'Ready condition.'),
      { name: 'Groups', type: 'integer', jsonPath: '.status.summary.groups', description: 'Groups on the node.' },
      { name: 'Paths', type: 'integer', jsonPath: '.status.summary.paths', description: 'ECMP paths programmed.' },
      { name: 'MACs', type: 'integer', jsonPath: '.status.summary.macs', description: 'MACs programmed.' },
      { name: 'Invalid', type: 'integer', jsonPath: '.status.summary.invalid', description: 'Groups and mirrored entries refused.' },
      conditionColumn('OVS', 'OvsSynced', 'OvsSynced condition: Open vSwitch holds exactly the desired groups and flows.'),
      {
        name: 'Reported',
        type: 'date',
        jsonPath: '.status.lastReportTime',
        description: 'Time since the agent last wrote this status (it writes when something changes; READY turns Unknown when its heartbeat stops).',
      },
      age,
      { name: 'Fabric', type: 'string', jsonPath: '.spec.fabric', description: 'EvpnFabric.', priority: 1 },
      { name: 'VTEP', type: 'string', jsonPath: '.spec.localVtepIP', description: 'Local VTEP IP.', priority: 1 },
      conditionColumn('Kernel', 'KernelSynced', 'KernelSynced condition.', 1),
      conditionColumn('Drift', 'DataplaneDrift', 'DataplaneDrift condition.', 1),
      conditionColumn('Degraded', 'Degraded', 'Degraded condition: groups Invalid or kept at their last good version, id ranges exhausted.', 1),
    ],
  },
} satisfies Record<string, ResourceDef>;

export type ResourceKind = keyof typeof RESOURCES;
export const RESOURCE_KINDS = Object.keys(RESOURCES) as ResourceKind[];

type JsonSchema = Record<string, unknown>;

const UNSUPPORTED = ['$ref', '$defs', 'anyOf', 'oneOf', 'allOf', 'if', 'then', 'else', 'prefixItems', 'patternProperties'];

/** Rewrites zod's JSON Schema node into its structural-schema equivalent. */
function structural(node: JsonSchema, at: string, typed = true): JsonSchema {
  for (const key of UNSUPPORTED) {
    if (key in node) throw new Error(`${at}: "${key}" has no structural-schema equivalent; restructure the zod schema`);
  }
  const out: JsonSchema = {};
  if (typeof node.description === 'string') out.description = node.description;
  if ('const' in node) {
    out.type = typeof node.const === 'string' ? 'string' : node.type;
    out.enum = [node.const];
  }
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case '$schema':
      case 'description':
      case 'const':
      case 'propertyNames': // record keys are strings anyway
        break;
      case 'additionalProperties':
        // zod's strict objects say `false`; a structural schema prunes or
        // (kubectl's default strict field validation) rejects unknown
        // fields without it, and forbids it beside `properties`.
        if (value !== false) out[key] = structural(value as JsonSchema, `${at}.additionalProperties`);
        break;
      case 'properties':
        out[key] = Object.fromEntries(
          Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, structural(v, `${at}.${k}`)]),
        );
        break;
      case 'items':
        out[key] = structural(value as JsonSchema, `${at}[]`);
        break;
      case 'not':
        out[key] = structural(value as JsonSchema, `${at}(not)`, false);
        break;
      case 'minimum':
        if (value !== Number.MIN_SAFE_INTEGER) out[key] = value; // zod's z.int() implicit bound
        break;
      case 'maximum':
        if (value !== Number.MAX_SAFE_INTEGER) out[key] = value;
        break;
      default:
        out[key] = value;
    }
  }
  if (typed && typeof out.type !== 'string') throw new Error(`${at}: no type (structural schemas type every node)`);
  return out;
}

/** The openAPIV3Schema of a resource, generated from its zod schema. */
export function openApiSchema(kind: ResourceKind): JsonSchema {
  const def = RESOURCES[kind];
  const json = z.toJSONSchema(def.schema, { io: 'input', unrepresentable: 'throw' }) as JsonSchema;
  delete (json.properties as Record<string, JsonSchema>).metadata; // replaced below
  const root = structural(json, kind);
  const props = root.properties as Record<string, JsonSchema>;
  // apiVersion, kind and metadata are the apiserver's business: the usual
  // CRD boilerplate, not zod's literals and our loose metadata view.
  props.apiVersion = {
    description: 'APIVersion defines the versioned schema of this representation of an object.',
    type: 'string',
  };
  props.kind = { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' };
  props.metadata = { type: 'object' };
  const required = ((root.required as string[] | undefined) ?? []).filter((r) => !['apiVersion', 'kind', 'metadata'].includes(r));
  return {
    description: def.description,
    type: 'object',
    ...(required.length ? { required } : {}),
    properties: props,
  };
}

/** The CustomResourceDefinition object of a resource. */
export function crdManifest(kind: ResourceKind): Record<string, unknown> {
  const def: ResourceDef = RESOURCES[kind];
  const { names, columns } = def;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      scope: 'Cluster',
      names: { ...names, categories: [CATEGORY] },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          ...(def.selectableFields ? { selectableFields: def.selectableFields } : {}),
          schema: { openAPIV3Schema: openApiSchema(kind) },
        },
      ],
    },
  };
}

/** File name of a resource's CRD under crds/. */
export function crdFileName(kind: ResourceKind): string {
  return `${RESOURCES[kind].names.plural}.${API_GROUP}.yaml`;
}

/** The YAML committed as crds/<file>. */
export function renderCrdYaml(kind: ResourceKind): string {
  // A leading document marker: `helm show crds` and `cat crds/*.yaml` join
  // the files as they are, and the CRD upgrade step pipes that to kubectl.
  return (
    `---\n# Generated from src/api (zod schemas) by \`npx tsx src/api/write-crds.ts\`; do not edit by hand.\n` +
    stringify(crdManifest(kind), { lineWidth: 0 })
  );
}
