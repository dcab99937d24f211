/**
 * The evpn.ecmp.dev/v1alpha1 API: zod schemas (the single source the CRDs in
 * crds/ are generated from), their TypeScript types, parsers that name the
 * bad field, and the address validators both sides share.
 */
export { API_GROUP, API_VERSION, API_GROUP_VERSION, condition, conditions, labelSelector, unicastIp, unicastMac, vni, vtep, vtepList, weight, ipText, IP_TEXT_PATTERN, objectName, MAX_MACS_PER_GROUP } from './common.js';
export * from './fabric.js';
export * from './vtep-group.js';
export * from './vtep-node-state.js';
export * from './validate.js';
export * from './issues.js';
export * from './net.js';
export * from './selector.js';
export * from './membership.js';
export { RESOURCES, RESOURCE_KINDS, CATEGORY, crdManifest, crdFileName, openApiSchema, renderCrdYaml } from './crds.js';
export type { ResourceKind, ResourceNames, PrinterColumn } from './crds.js';

import type { z } from 'zod';
import type { condition } from './common.js';
export type Condition = z.output<typeof condition>;
export type { LabelSelector } from './common.js';
