/**
 * zod's half of the corpus; the integration test feeds the same objects to
 * a real apiserver and requires identical verdicts.
 */
import { describe, expect, it } from 'vitest';
import { checkEvpnFabric, checkVtepGroup, checkVtepNodeState, type ParseResult } from '../../../src/api/index.js';
import { ALL_CASES, objectOf, type CorpusKind } from './corpus.js';

const check: Record<CorpusKind, (obj: unknown) => ParseResult<unknown>> = {
  EvpnFabric: checkEvpnFabric,
  VtepGroup: checkVtepGroup,
  VtepNodeState: checkVtepNodeState,
};

describe('corpus verdicts (zod)', () => {
  it.each(ALL_CASES.map((c) => [`${c.kind}: ${c.name}`, c] as const))('%s', (_title, c) => {
    const r = check[c.kind](JSON.parse(JSON.stringify(objectOf(c))));
    expect(r.ok).toBe(c.valid);
    if (!r.ok) {
      expect(r.error.issues.map((i) => i.path)).toContain(c.field);
      expect(r.error.message).toContain(`${c.field}: `);
    }
  });
});
