/**
 * Validation issues a user can act on: every issue names the path of the bad
 * field the way kubectl does (`spec.groups[0].vteps[1].weight`).
 */
import type { z } from 'zod';

export interface FieldIssue {
  /** Path of the field in kubectl's notation, e.g. `spec.vteps[1].weight`; empty for the object itself. */
  path: string;
  message: string;
}

/** An object that does not satisfy its schema; the message lists every issue with its field path. */
export class ApiValidationError extends Error {
  override name = 'ApiValidationError';
  constructor(
    readonly kind: string,
    readonly issues: readonly FieldIssue[],
  ) {
    super(`invalid ${kind}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${String(issue.maximum)} items`;
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters`;
      return `must be ≤ ${String(issue.maximum)}`;
    case 'too_small':
      if (issue.origin === 'array') return `must have at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : `must be at least ${String(issue.minimum)} characters`;
      return `must be ≥ ${String(issue.minimum)}`;
    case 'invalid_type':
      return issue.message.endsWith('received undefined') ? 'required' : `must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}`;
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`}`;
    default:
      return issue.message;
  }
}

/** zod issues as field issues; an unknown key is reported at its own path. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...issue.path, key]), message: 'unknown field' });
    } else {
      out.push({ path: formatPath(issue.path), message: describeIssue(issue) });
    }
  }
  return out;
}
