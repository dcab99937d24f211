/**
 * The CRDs on a real apiserver: the corpus of valid and invalid objects gets
 * the same verdict from `kubectl apply` (OpenAPI + CEL admission) as from the
 * zod schemas, both errors name the same field, and for valid objects the
 * apiserver's defaults equal zod's. Then what a user sees: `kubectl get evpn`,
 * the printer columns, `kubectl explain`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEvpnFabric, checkVtepGroup, checkVtepNodeState, API_GROUP_VERSION, type ParseResult } from '../../../src/api/index.js';
import { CommandError } from '../../harness/exec.js';
import { ControlPlane, missingControlPlane } from '../../harness/kube.js';
import { missingPrerequisites } from '../../harness/prereq.js';
import { ADDRESSES, ALL_CASES, TIMESTAMPS, objectOf, type CorpusKind } from '../../unit/api/corpus.js';

const skip = missingPrerequisites(['openssl']) ?? missingControlPlane();

const zodCheck: Record<CorpusKind, (obj: unknown) => ParseResult<{ spec: unknown }>> = {
  EvpnFabric: checkEvpnFabric,
  VtepGroup: checkVtepGroup,
  VtepNodeState: checkVtepNodeState,
};

type ApiVerdict = { ok: true; object: any } | { ok: false; message: string };

describe.skipIf(skip)('CRDs on a real apiserver', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await ControlPlane.start();
    await cp.applyCrds();
  });
  afterAll(async () => {
    await cp?.stop();
  });

  /** `kubectl apply --dry-run=server`: full validation and admission, nothing stored. */
  async function apiVerdict(obj: unknown): Promise<ApiVerdict> {
    try {
      const { stdout } = await cp.kubectlInput(JSON.stringify(obj), 'apply', '--dry-run=server', '-o', 'json', '-f', '-');
      return { ok: true, object: JSON.parse(stdout) };
    } catch (err) {
      if (err instanceof CommandError) return { ok: false, message: err.stderr };
      throw err;
    }
  }

  describe('zod and the apiserver agree on every corpus object', () => {
    it.each(ALL_CASES.map((c) => [`${c.kind}: ${c.name}`, c] as const))('%s', async (_title, c) => {
      // What kubectl sends: JSON, so `undefined` members are absent.
      const obj = JSON.parse(JSON.stringify(objectOf(c)));
      const api = await apiVerdict(obj);
      const zod = zodCheck[c.kind](obj);

      expect({ apiserver: api.ok, zod: zod.ok }).toEqual({ apiserver: c.valid, zod: c.valid });
      if (!api.ok && !zod.ok) {
        expect(api.message).toContain(c.field);
        expect(zod.error.issues.map((i) => i.path)).toContain(c.field);
      }
      if (api.ok && zod.ok) {
        // Same defaults: what the apiserver stores is what zod hands the code.
        expect(api.object.spec).toEqual(zod.value.spec);
      }
    });
  });

  describe('zod and the apiserver\'s CEL ip library agree on address spellings', () => {
    it.each(ADDRESSES)('%s', async (ip, want) => {
      const accept = want.ip && want.canonical === true && want.unicast === true;
      const obj = {
        apiVersion: API_GROUP_VERSION,
        kind: 'VtepGroup',
        metadata: { name: 'address-probe' },
        spec: { fabric: 'default', vni: 100, vteps: [{ ip }] },
      };
      const api = await apiVerdict(obj);
      const zod = checkVtepGroup(obj);
      expect({ apiserver: api.ok, zod: zod.ok }).toEqual({ apiserver: accept, zod: accept });
      if (!api.ok && !zod.ok) {
        // Same rule fails on both sides: compare the messages, not just the verdict.
        const zodMessages = zod.error.issues.filter((i) => i.path === 'spec.vteps[0].ip').map((i) => i.message);
        expect(zodMessages.length).toBeGreaterThan(0);
        for (const m of zodMessages) expect(api.message).toContain(m);
      }
    });
  });

  describe('status subresource', () => {
    const node = 'status-node';
    const baseSpec = { fabric: 'default', localVtepIP: '192.0.2.1' };
    const goodStatus = {
      observedGeneration: 1,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Synced', message: '', lastTransitionTime: '2026-11-21T06:00:00Z', observedGeneration: 1 },
        { type: 'OvsSynced', status: 'True', reason: 'Synced', message: '', lastTransitionTime: '2026-11-21T06:00:00Z' },
      ],
      summary: { groups: 2, paths: 6, macs: 40, invalid: 0 },
      groups: [
        {
          name: 'web', vni: 100, appliedGeneration: 4, nexthopGroupId: 3959422977, ofGroupId: 65537,
          paths: [{ vtep: '198.51.100.2', weight: 3 }, { vtep: '198.51.100.3', weight: 1 }], macs: 20, state: 'Programmed', message: '',
        },
      ],
      learned: { ecmp: 12, singlePath: 3, invalid: { UnknownNexthop: 1 } },
      lastSyncTime: '2026-11-21T06:00:00Z',
    };
    const cases: [string, unknown, boolean, string?][] = [
      ['the DESIGN example', goodStatus, true],
      ['state Bogus', { groups: [{ name: 'web', state: 'Bogus' }] }, false, 'status.groups[0].state'],
      ['path weight 0', { groups: [{ name: 'web', state: 'Pending', paths: [{ vtep: '198.51.100.2', weight: 0 }] }] }, false, 'status.groups[0].paths[0].weight'],
      ['condition status Maybe', { conditions: [{ ...goodStatus.conditions[0], status: 'Maybe' }] }, false, 'status.conditions[0].status'],
      ['negative summary', { summary: { groups: -1, paths: 0, macs: 0, invalid: 0 } }, false, 'status.summary.groups'],
      ['nexthop id beyond 32 bits', { groups: [{ name: 'web', state: 'Programmed', nexthopGroupId: 4294967296 }] }, false, 'status.groups[0].nexthopGroupId'],
      ['duplicate condition types', { conditions: [goodStatus.conditions[0], goodStatus.conditions[0]] }, false, 'status.conditions[1]'],
    ];

    for (const [t, valid] of TIMESTAMPS) {
      cases.push([`lastSyncTime ${JSON.stringify(t)}`, { lastSyncTime: t }, valid, valid ? undefined : 'status.lastSyncTime']);
      cases.push([
        `lastTransitionTime ${JSON.stringify(t)}`,
        { conditions: [{ ...goodStatus.conditions[0], lastTransitionTime: t }] },
        valid,
        valid ? undefined : 'status.conditions[0].lastTransitionTime',
      ]);
    }

    beforeAll(async () => {
      await cp.kubectlInput(
        JSON.stringify({ apiVersion: API_GROUP_VERSION, kind: 'VtepNodeState', metadata: { name: node }, spec: baseSpec }),
        'apply', '-f', '-',
      );
    });

    it.each(cases)('%s', async (_title, status, valid, field) => {
      let api: ApiVerdict;
      try {
        const { stdout } = await cp.kubectl(
          'patch', 'vtepnodestate', node, '--subresource=status', '--type=merge', '--dry-run=server', '-o', 'json',
          '-p', JSON.stringify({ status }),
        );
        api = { ok: true, object: JSON.parse(stdout) };
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        api = { ok: false, message: err.stderr };
      }
      const zod = checkVtepNodeState({ apiVersion: API_GROUP_VERSION, kind: 'VtepNodeState', metadata: { name: node }, spec: baseSpec, status });
      expect({ apiserver: api.ok, zod: zod.ok }).toEqual({ apiserver: valid, zod: valid });
      if (!api.ok && !zod.ok) {
        expect(api.message).toContain(field);
        expect(zod.error.issues.map((i) => i.path)).toContain(field);
      }
    });
  });

  describe('what kubectl shows', () => {
    beforeAll(async () => {
      const objects = [
        { apiVersion: API_GROUP_VERSION, kind: 'EvpnFabric', metadata: { name: 'default' }, spec: {} },
        {
          apiVersion: API_GROUP_VERSION, kind: 'VtepGroup', metadata: { name: 'web' },
          spec: { fabric: 'default', vni: 100, vteps: [{ ip: '198.51.100.2', weight: 3 }, { ip: '198.51.100.3' }], macs: ['02:00:00:00:00:aa'] },
        },
        { apiVersion: API_GROUP_VERSION, kind: 'VtepNodeState', metadata: { name: 'node-a' }, spec: { fabric: 'default', localVtepIP: '192.0.2.1' } },
      ];
      await cp.kubectlInput(objects.map((o) => JSON.stringify(o)).join('\n'), 'apply', '-f', '-');
      const patchStatus = (resource: string, status: unknown) =>
        cp.kubectl('patch', resource, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
      await patchStatus('evpnfabric/default', { nodesTotal: 3, nodesReady: 2, ready: '2/3' });
      await patchStatus('vtepgroup/web', { nodesTotal: 3, nodesReady: 3, ready: '3/3', vtepCount: 2, macCount: 1 });
      const t = '2026-11-21T06:00:00Z';
      await patchStatus('vtepnodestate/node-a', {
        conditions: [
          { type: 'Ready', status: 'True', reason: 'Synced', message: '', lastTransitionTime: t },
          { type: 'OvsSynced', status: 'False', reason: 'Disconnected', message: 'ovs-vswitchd not reachable', lastTransitionTime: t },
          { type: 'KernelSynced', status: 'True', reason: 'Synced', message: '', lastTransitionTime: t },
        ],
        summary: { groups: 2, paths: 6, macs: 40, invalid: 1 },
        lastReportTime: new Date(Date.now() - 90_000).toISOString(),
      });
    });

    /** kubectl's table as rows of whitespace-separated cells, header first. */
    const table = (out: string) => out.trim().split('\n').map((l) => l.trim().split(/\s+/));

    it('`kubectl get evpn` lists all three kinds (category evpn)', async () => {
      const { stdout } = await cp.kubectl('get', 'evpn', '-o', 'name');
      const names = stdout.split('\n').filter(Boolean);
      expect(names).toEqual(
        expect.arrayContaining(['evpnfabric.evpn.ecmp.dev/default', 'vtepgroup.evpn.ecmp.dev/web', 'vtepnodestate.evpn.ecmp.dev/node-a']),
      );
      for (const n of names) expect(n).toMatch(/^(evpnfabric|vtepgroup|vtepnodestate)\.evpn\.ecmp\.dev\//);
    });

    it('`kubectl get vns` is the per-node status page', async () => {
      const rows = table((await cp.kubectl('get', 'vns', 'node-a')).stdout);
      expect(rows[0]).toEqual(['NAME', 'READY', 'GROUPS', 'PATHS', 'MACS', 'INVALID', 'OVS', 'REPORTED', 'AGE']);
      expect(rows[1]?.slice(0, 7)).toEqual(['node-a', 'True', '2', '6', '40', '1', 'False']);
      // The age of the agent's last status write (written 90 s ago).
      expect(rows[1]?.[7]).toMatch(/^9\ds$/);
      const wide = table((await cp.kubectl('get', 'vns', 'node-a', '-o', 'wide')).stdout);
      expect(wide[0]).toEqual(['NAME', 'READY', 'GROUPS', 'PATHS', 'MACS', 'INVALID', 'OVS', 'REPORTED', 'AGE', 'FABRIC', 'VTEP', 'KERNEL', 'DRIFT', 'DEGRADED']);
      expect(wide[1]?.slice(9, 12)).toEqual(['default', '192.0.2.1', 'True']);
    });

    it('`kubectl get vg` and `kubectl get ef` show the columns', async () => {
      const vg = table((await cp.kubectl('get', 'vg', 'web')).stdout);
      expect(vg[0]).toEqual(['NAME', 'FABRIC', 'VNI', 'VTEPS', 'MACS', 'READY', 'AGE']);
      expect(vg[1]?.slice(0, 6)).toEqual(['web', 'default', '100', '2', '1', '3/3']);
      const ef = table((await cp.kubectl('get', 'ef', 'default')).stdout);
      expect(ef[0]).toEqual(['NAME', 'FAMILY', 'PORT', 'BRIDGE', 'READY', 'AGE']);
      expect(ef[1]?.slice(0, 5)).toEqual(['default', 'IPv4', '4789', 'br-evpn', '2/3']);
    });

    it('`kubectl explain vtepgroup.spec.vteps` documents the fields', async () => {
      const { stdout } = await cp.kubectl('explain', 'vtepgroup.spec.vteps');
      expect(stdout).toMatch(/KIND:\s+VtepGroup/);
      expect(stdout).toMatch(/ip\s+<string> -required-/);
      expect(stdout).toMatch(/weight\s+<integer>/);
      expect(stdout).toContain('1–64, unique by IP');
      expect(stdout).toContain('1–256 (default 1)');
    });

    it('`kubectl explain` reaches the status fields the agent writes', async () => {
      const { stdout } = await cp.kubectl('explain', 'vtepnodestate.status.groups');
      expect(stdout).toMatch(/appliedGeneration\s+<integer>/);
      expect(stdout).toMatch(/state\s+<string> -required-/);
      expect(stdout).toContain('Programmed');
    });
  });
});
