/**
 * The chart's kubeVersion must be what the CRDs and the admission policy
 * really need. A CEL library is usable in a new CRD or policy only once the
 * apiserver's compatibility version (one minor below its own) has it
 * (k8s.io/apiserver pkg/cel/environment/base.go: the IP library is
 * introduced at 1.30, so a 1.30 apiserver refuses `isIP`, a 1.31 accepts it).
 * The table maps every CEL function the manifests call to the version that
 * introduced it; a function not in it fails the test until it is added.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = join(import.meta.dirname, '../../..');

/** Compatibility version (minor of 1.x) that introduced each function, from base.go. */
const INTRODUCED: Record<string, number> = {
  // The base environment (CRD validation rules are GA since 1.29, beta and on since 1.25).
  size: 25, all: 25, exists: 25, exists_one: 25, map: 25, filter: 25, has: 25, matches: 25, startsWith: 25, endsWith: 25, contains: 25,
  int: 25, uint: 25, double: 25, string: 25, bytes: 25, bool: 25, duration: 25, timestamp: 25, type: 25,
  // Kubernetes library functions of the base environment.
  isSorted: 25, sum: 25, min: 25, max: 25, indexOf: 25, lastIndexOf: 25, find: 25, findAll: 25, url: 25, isURL: 25,
  // Extended strings v2, sets (1.29).
  charAt: 29, lowerAscii: 29, upperAscii: 29, replace: 29, split: 29, substring: 29, trim: 29, join: 29, quote: 29,
  'sets.contains': 29, 'sets.equivalent': 29, 'sets.intersects': 29,
  // IP and CIDR libraries (1.30).
  isIP: 30, ip: 30, 'ip.isCanonical': 30, family: 30, isUnspecified: 30, isLoopback: 30, isLinkLocalMulticast: 30, isLinkLocalUnicast: 30, isGlobalUnicast: 30,
  isCIDR: 30, cidr: 30, containsIP: 30, containsCIDR: 30, prefixLength: 30, masked: 30,
  // Later: format (1.31), two-variable comprehensions (1.32), semver (1.33), lists (1.34).
  validate: 31, transformList: 32, transformMap: 32, isSemver: 33, semver: 33, 'lists.range': 34, distinct: 34, flatten: 34, sortBy: 34,
};

/** Every CEL expression of the CRDs (x-kubernetes-validations) and of the chart's ValidatingAdmissionPolicy. */
function celExpressions(): string[] {
  const out: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'x-kubernetes-validations') for (const v of value as Array<{ rule: string; messageExpression?: string }>) out.push(v.rule, ...(v.messageExpression ? [v.messageExpression] : []));
      else visit(value);
    }
  };
  for (const f of readdirSync(join(ROOT, 'crds'))) for (const d of parseAllDocuments(readFileSync(join(ROOT, 'crds', f), 'utf8'))) visit(d.toJS());
  const policy = readFileSync(join(ROOT, 'charts/evpn-ecmp-operator/templates/admission-policy.yaml'), 'utf8');
  // `expression:` / `messageExpression:` values, folded (>-) or inline.
  for (const m of policy.matchAll(/(?:expression|messageExpression): (?:>-\n((?: {8,}.*\n)+)|(.*)\n)/g)) out.push((m[1] ?? m[2] ?? '').replace(/\s+/g, ' '));
  return out;
}

/** The functions an expression calls: `ip.isCanonical`, `isIP`, `all`, ... */
function calledFunctions(expr: string): string[] {
  const noStrings = expr.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''");
  const names: string[] = [];
  for (const m of noStrings.matchAll(/([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)\s*\(/g)) {
    const dotted = m[1]!;
    names.push(dotted in INTRODUCED ? dotted : dotted.split('.').pop()!);
  }
  return names;
}

describe('supported Kubernetes versions', () => {
  it('the chart\'s kubeVersion floor is the first release whose CEL environment has every function the manifests use', () => {
    const expressions = celExpressions();
    expect(expressions.length).toBeGreaterThan(5);
    const used = [...new Set(expressions.flatMap(calledFunctions))].sort();
    expect(used).toContain('isIP');
    const unknown = used.filter((f) => !(f in INTRODUCED));
    expect(unknown, 'add these CEL functions and the version that introduced them to the table').toEqual([]);
    // A release's compatibility version is one minor below it.
    const floor = Math.max(...used.map((f) => INTRODUCED[f]!)) + 1;
    const chart = parse(readFileSync(join(ROOT, 'charts/evpn-ecmp-operator/Chart.yaml'), 'utf8')) as { kubeVersion: string };
    expect(chart.kubeVersion).toBe(`>=1.${floor}.0-0`);
  });
});
