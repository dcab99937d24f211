import { describe, expect, it } from 'vitest';
import {
  ApiValidationError,
  API_GROUP_VERSION,
  checkVtepGroup,
  evpnFabricSpec,
  nodeGroupIssues,
  parseEvpnFabric,
  parseVtepGroup,
  parseVtepNodeState,
  type VtepNodeState,
} from '../../../src/api/index.js';

const meta = (name: string) => ({ metadata: { name } });

describe('defaults (DESIGN 3.1)', () => {
  it('an empty EvpnFabric spec resolves to the documented settings', () => {
    const f = parseEvpnFabric({ apiVersion: API_GROUP_VERSION, kind: 'EvpnFabric', ...meta('default') });
    expect(f.spec).toEqual({
      nodeSelector: {},
      underlay: { addressFamily: 'IPv4', localAddressFrom: 'InternalIP' },
      vxlan: { port: 4789, mode: 'PerVni', deviceTemplate: 'evpn-{vni}', bridgeTemplate: 'evpnbr-{vni}', device: 'evpn0', bridge: 'evpnbr0' },
      ovs: {
        bridge: 'br-evpn',
        tunnelPort: 'evpn-vxlan',
        tableBase: 0,
        groupIdRange: { start: 65536, size: 65536 },
        selectionMethod: 'dp_hash',
        bucketLayout: 'slots',
        cookie: '0x45564e0000000000',
        cookieMask: '0xffffffff00000000',
      },
      kernel: { manage: true, mirrorLearned: true, protocol: 236, nexthopIdRange: { start: 0xec000000, size: 1048576 }, exportLocalMacs: true },
    });
  });

  it('fills defaults inside partially given blocks and keeps what is given', () => {
    const spec = evpnFabricSpec.parse({ ovs: { bridge: 'br-int' }, kernel: { manage: false } });
    expect(spec.ovs.bridge).toBe('br-int');
    expect(spec.ovs.tunnelPort).toBe('evpn-vxlan');
    expect(spec.kernel).toEqual({ manage: false, mirrorLearned: true, protocol: 236, nexthopIdRange: { start: 0xec000000, size: 1048576 }, exportLocalMacs: true });
  });

  it('VTEP weight defaults to 1 and MACs to none', () => {
    const g = parseVtepGroup({
      apiVersion: API_GROUP_VERSION,
      kind: 'VtepGroup',
      ...meta('web'),
      spec: { fabric: 'default', vni: 100, vteps: [{ ip: '198.51.100.2', weight: 3 }, { ip: '198.51.100.3' }] },
    });
    expect(g.spec.vteps).toEqual([{ ip: '198.51.100.2', weight: 3 }, { ip: '198.51.100.3', weight: 1 }]);
    expect(g.spec.macs).toEqual([]);
  });
});

const designState = {
  apiVersion: API_GROUP_VERSION,
  kind: 'VtepNodeState',
  metadata: { name: 'node-a' },
  spec: {
    fabric: 'default',
    localVtepIP: '192.0.2.1',
    groups: [{ name: 'web', generation: 4, vni: 100, vteps: [{ ip: '198.51.100.2', weight: 3 }, { ip: '198.51.100.3' }], macs: ['02:00:00:00:00:aa'] }],
  },
  status: {
    observedGeneration: 7,
    conditions: [{ type: 'Ready', status: 'True', reason: 'Synced', message: '', lastTransitionTime: '2026-11-21T06:00:00Z' }],
    summary: { groups: 2, paths: 6, macs: 40, invalid: 0 },
    groups: [
      {
        name: 'web', vni: 100, appliedGeneration: 4, nexthopGroupId: 3959422977, ofGroupId: 65537,
        paths: [{ vtep: '198.51.100.2', weight: 3 }], macs: 20, state: 'Programmed', message: '',
      },
    ],
    learned: { ecmp: 12, singlePath: 3, invalid: { UnknownNexthop: 1 } },
    lastSyncTime: '2026-11-21T06:00:00Z',
  },
};

describe('parseVtepNodeState', () => {
  it('accepts the DESIGN example (a standalone --state-file) and resolves fabric defaults', () => {
    const s: VtepNodeState = parseVtepNodeState(designState);
    expect(s.spec.groups[0]?.vteps[1]?.weight).toBe(1);
    expect(s.spec.ovs.groupIdRange).toEqual({ start: 65536, size: 65536 });
    expect(s.spec.vxlan.port).toBe(4789);
    expect(s.status?.groups?.[0]?.state).toBe('Programmed');
  });

  it('names the path of the bad field', () => {
    const bad = structuredClone(designState);
    bad.spec.groups[0]!.vteps[1] = { ip: '198.51.100.3', weight: 257 };
    expect(() => parseVtepNodeState(bad)).toThrow('spec.groups[0].vteps[1].weight: must be ≤ 256');
    try {
      parseVtepNodeState(bad);
    } catch (err) {
      expect(err).toBeInstanceOf(ApiValidationError);
      expect((err as ApiValidationError).issues).toEqual([{ path: 'spec.groups[0].vteps[1].weight', message: 'must be ≤ 256' }]);
    }
  });

  it('reports every issue, with unknown and missing fields by path', () => {
    const bad = structuredClone(designState) as any;
    delete bad.spec.fabric;
    bad.spec.localVtepIp = '192.0.2.1';
    bad.status.groups[0].state = 'Done';
    const err = (() => {
      try {
        parseVtepNodeState(bad);
      } catch (e) {
        return e as ApiValidationError;
      }
      throw new Error('accepted');
    })();
    expect(err.issues).toEqual(
      expect.arrayContaining([
        { path: 'spec.fabric', message: 'required' },
        { path: 'spec.localVtepIp', message: 'unknown field' },
        { path: 'status.groups[0].state', message: 'must be one of "Programmed", "Pending", "Invalid"' },
      ]),
    );
  });

  it('refuses what is not a VtepNodeState at all', () => {
    expect(() => parseVtepNodeState({ ...designState, kind: 'VtepGroup' })).toThrow('kind: must be "VtepNodeState"');
    expect(() => parseVtepNodeState('node-a')).toThrow(ApiValidationError);
    expect(() => parseVtepNodeState(null)).toThrow(ApiValidationError);
  });
});

describe('nodeGroupIssues (the checks the apiserver cannot afford per node group)', () => {
  it('passes a good group', () => {
    expect(nodeGroupIssues({ vteps: [{ ip: '198.51.100.2', weight: 1 }] }, '192.0.2.1')).toEqual([]);
  });

  it('refuses what VtepGroup admission would have refused', () => {
    expect(nodeGroupIssues({ vteps: [{ ip: '198.51.100.256', weight: 1 }] })).toEqual([{ path: 'vteps[0].ip', message: 'must be an IPv4 or IPv6 address' }]);
    expect(nodeGroupIssues({ vteps: [{ ip: '127.0.0.1', weight: 1 }] })[0]?.path).toBe('vteps[0].ip');
    expect(nodeGroupIssues({ vteps: [{ ip: '198.51.100.2', weight: 1 }, { ip: '2001:db8::2', weight: 1 }] })).toEqual([
      { path: 'vteps', message: 'all VTEPs of a group must be of one address family' },
    ]);
  });

  it('refuses VTEPs of another family than the local VTEP', () => {
    expect(nodeGroupIssues({ vteps: [{ ip: '2001:db8::2', weight: 1 }] }, '192.0.2.1')).toEqual([
      { path: 'vteps', message: 'VTEPs are IPv6 but the local VTEP 192.0.2.1 is IPv4' },
    ]);
  });
});

it('checkVtepGroup returns the error instead of throwing', () => {
  const r = checkVtepGroup({ apiVersion: API_GROUP_VERSION, kind: 'VtepGroup', ...meta('x'), spec: { vni: 1, vteps: [{ ip: '198.51.100.2' }] } });
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.error.message).toBe('invalid VtepGroup: spec.fabric: required');
});
