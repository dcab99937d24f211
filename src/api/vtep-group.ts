/**
 * VtepGroup: a set of remote VTEPs that together serve a set of MACs in one
 * VNI (DESIGN 3, 3.1). Whether the VTEPs' family matches the fabric's is not
 * visible to CEL (it lives in another object); the operator checks it and
 * reports VniMismatch/Degraded conditions.
 */
import { z } from 'zod';
import {
  API_GROUP_VERSION,
  conditions,
  labelSelector,
  MAX_MACS_PER_GROUP,
  objectMeta,
  objectName,
  observedGeneration,
  unicastMac,
  vni,
  vtepList,
} from './common.js';
import { listSet } from './rules.js';

export const groupMacs = listSet(z.array(unicastMac).max(MAX_MACS_PER_GROUP)).describe(
  `MACs reachable through the group's VTEPs, at most ${MAX_MACS_PER_GROUP}, each once.`,
);

export const vtepGroupSpec = z
  .strictObject({
    fabric: objectName('Name of the EvpnFabric this group belongs to (required).'),
    vni,
    vteps: vtepList('Remote VTEPs that serve the MACs, 1–64, unique by IP, one address family; traffic is spread by weight.'),
    macs: groupMacs.default([]),
    nodeSelector: labelSelector
      .optional()
      .describe('Narrows the fabric\'s nodeSelector: the group applies to nodes matching both. Absent: all of the fabric\'s nodes.'),
  })
  .describe('Desired state: the VTEPs and the MACs they serve in one VNI.');

export const vtepGroupStatus = z
  .strictObject({
    observedGeneration: observedGeneration.optional(),
    conditions: conditions.optional(),
    nodesTotal: z.int().min(0).optional().describe('Nodes the group applies to.'),
    nodesReady: z
      .int()
      .min(0)
      .optional()
      .describe('Nodes whose agent reports the group Programmed at its current metadata.generation.'),
    ready: z.string().max(32).optional().describe('"nodesReady/nodesTotal", e.g. "3/3", filled by the operator for the READY column.'),
    vtepCount: z.int().min(0).optional().describe('Number of VTEPs in spec, filled by the operator for the VTEPS column.'),
    macCount: z.int().min(0).optional().describe('Number of MACs in spec, filled by the operator for the MACS column.'),
  })
  .describe('Observed state, written by the operator.');

export const vtepGroup = z
  .strictObject({
    apiVersion: z.literal(API_GROUP_VERSION),
    kind: z.literal('VtepGroup'),
    metadata: objectMeta,
    spec: vtepGroupSpec,
    status: vtepGroupStatus.optional(),
  })
  .describe('VtepGroup: remote VTEPs with weights serving a set of MACs in one VNI.');

export type Vtep = z.output<typeof vtepGroupSpec>['vteps'][number];
export type VtepGroupSpec = z.output<typeof vtepGroupSpec>;
export type VtepGroupStatus = z.output<typeof vtepGroupStatus>;
export type VtepGroup = z.output<typeof vtepGroup>;
