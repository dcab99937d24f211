/**
 * crds/*.yaml are generated from the zod schemas: the committed files must
 * be exactly a fresh render, and the render must be a structural schema a
 * user can read with `kubectl explain`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { crdFileName, crdManifest, openApiSchema, renderCrdYaml, RESOURCE_KINDS, type ResourceKind } from '../../../src/api/index.js';

const CRDS = join(import.meta.dirname, '../../../crds');

type Node = Record<string, any>;

/** Every schema node with its path, skipping value-only `not` sub-schemas. */
function* walk(node: Node, path: string): Generator<[string, Node]> {
  yield [path, node];
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Node>)) yield* walk(v, `${path}.${k}`);
  if (node.items) yield* walk(node.items, `${path}[]`);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') yield* walk(node.additionalProperties, `${path}{}`);
}

describe.each(RESOURCE_KINDS)('%s CRD', (kind: ResourceKind) => {
  it('is committed exactly as the zod schemas render it (run `npx tsx src/api/write-crds.ts`)', () => {
    expect(readFileSync(join(CRDS, crdFileName(kind)), 'utf8')).toBe(renderCrdYaml(kind));
  });

  it('is cluster-scoped, in category evpn, with a short name and a status subresource', () => {
    const crd = parse(renderCrdYaml(kind));
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.group).toBe('evpn.ecmp.dev');
    expect(crd.spec.names.categories).toEqual(['evpn']);
    expect(crd.spec.names.shortNames).toEqual([{ EvpnFabric: 'ef', VtepGroup: 'vg', VtepNodeState: 'vns' }[kind]]);
    expect(crd.spec.versions).toHaveLength(1);
    expect(crd.spec.versions[0].subresources).toEqual({ status: {} });
    expect(crd.spec.versions[0].schema.openAPIV3Schema.properties.status).toBeDefined();
  });

  it('is structural: every node typed, no additionalProperties beside properties, no $ref/anyOf', () => {
    for (const [path, node] of walk(openApiSchema(kind), kind)) {
      expect(typeof node.type, `${path} has a type`).toBe('string');
      expect(node.properties && node.additionalProperties !== undefined, `${path}: properties with additionalProperties`).toBeFalsy();
      for (const k of ['$ref', 'anyOf', 'oneOf', 'allOf', '$schema']) expect(node[k], `${path}.${k}`).toBeUndefined();
    }
  });

  it('describes every field for kubectl explain', () => {
    const undocumented = [...walk(openApiSchema(kind), kind)]
      .filter(([path]) => !/\.(apiVersion|kind|metadata)$/.test(path))
      .filter(([path, node]) => !path.endsWith('{}') && !/\.values\[\]$/.test(path) && !node.description)
      .map(([path]) => path);
    expect(undocumented).toEqual([]);
  });

  it('has printer columns whose paths exist in the schema', () => {
    const schema = openApiSchema(kind);
    const columns = (crdManifest(kind).spec as Node).versions[0].additionalPrinterColumns as { jsonPath: string }[];
    for (const { jsonPath } of columns) {
      if (jsonPath === '.metadata.creationTimestamp') continue;
      let node: Node | undefined = schema;
      for (const seg of jsonPath.replace(/\[\?.*?\]/g, '[]').split('.').filter(Boolean)) {
        const [name, isList] = [seg.replace('[]', ''), seg.endsWith('[]')];
        node = node?.properties?.[name];
        if (isList) node = node?.items;
      }
      expect(node, jsonPath).toBeDefined();
    }
  });
});

it('VtepNodeState has the columns of the per-node status page', () => {
  const columns = ((crdManifest('VtepNodeState').spec as Node).versions[0].additionalPrinterColumns as { name: string; priority?: number }[])
    .filter((c) => !c.priority)
    .map((c) => c.name.toUpperCase());
  expect(columns).toEqual(['READY', 'GROUPS', 'PATHS', 'MACS', 'INVALID', 'OVS', 'REPORTED', 'AGE']);
});
