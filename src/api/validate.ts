/**
 * Parsers for the three resources: validate, apply the defaults of
 * DESIGN 3.1, and name each bad field in the error.
 */
import type { z } from 'zod';
import { ApiValidationError, fieldIssues } from './issues.js';
import { evpnFabric, type EvpnFabric } from './fabric.js';
import { vtepGroup, type VtepGroup } from './vtep-group.js';
import { vtepNodeState, type VtepNodeState } from './vtep-node-state.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ApiValidationError };

function checker<S extends z.ZodType>(schema: S, kind: string) {
  return (obj: unknown): ParseResult<z.output<S>> => {
    const r = schema.safeParse(obj);
    return r.success ? { ok: true, value: r.data } : { ok: false, error: new ApiValidationError(kind, fieldIssues(r.error)) };
  };
}

function parser<S extends z.ZodType>(schema: S, kind: string) {
  const check = checker(schema, kind);
  return (obj: unknown): z.output<S> => {
    const r = check(obj);
    if (!r.ok) throw r.error;
    return r.value;
  };
}

/** Validates and applies defaults; throws ApiValidationError naming each bad field. */
export const parseEvpnFabric: (obj: unknown) => EvpnFabric = parser(evpnFabric, 'EvpnFabric');
export const parseVtepGroup: (obj: unknown) => VtepGroup = parser(vtepGroup, 'VtepGroup');
export const parseVtepNodeState: (obj: unknown) => VtepNodeState = parser(vtepNodeState, 'VtepNodeState');

/** Like the parse functions, but returning the error instead of throwing it. */
export const checkEvpnFabric: (obj: unknown) => ParseResult<EvpnFabric> = checker(evpnFabric, 'EvpnFabric');
export const checkVtepGroup: (obj: unknown) => ParseResult<VtepGroup> = checker(vtepGroup, 'VtepGroup');
export const checkVtepNodeState: (obj: unknown) => ParseResult<VtepNodeState> = checker(vtepNodeState, 'VtepNodeState');
