import { describe, expect, it } from 'vitest';
import { resolveFabric } from '../../../src/operator/fabric-settings.js';
import { validateGroups } from '../../../src/operator/validate.js';
import { fabric, group } from './fixtures.js';

const fabrics = (...fs: ReturnType<typeof fabric>[]) => new Map(fs.map((f) => [f.metadata.name, resolveFabric(f)]));

describe('validateGroups', () => {
  it('accepts independent groups untouched', () => {
    const v = validateGroups([group('web'), group('db', { vni: 200 })], fabrics(fabric('default')));
    expect([...v.values()].map((x) => [x.name, x.rendered, x.problems])).toEqual([
      ['db', true, []],
      ['web', true, []],
    ]);
  });

  it('degrades both groups claiming a MAC in one VNI and withholds only the contested MACs', () => {
    const v = validateGroups(
      [
        group('a', { macs: ['02:00:00:00:00:01', '02:00:00:00:00:02'] }),
        group('b', { macs: ['02:00:00:00:00:02', '02:00:00:00:00:03'] }),
        group('c', { vni: 200, macs: ['02:00:00:00:00:02'] }), // other VNI: no conflict
        group('d', { fabric: 'other', macs: ['02:00:00:00:00:02'] }), // other fabric: no conflict
      ],
      fabrics(fabric('default'), fabric('other')),
    );
    expect(v.get('a')).toMatchObject({ rendered: true, macs: ['02:00:00:00:00:01'] });
    expect(v.get('b')).toMatchObject({ rendered: true, macs: ['02:00:00:00:00:03'] });
    expect(v.get('a')!.problems).toEqual([{ reason: 'MacConflict', message: expect.stringContaining('02:00:00:00:00:02 (also in b)') }]);
    expect(v.get('b')!.problems[0]!.message).toContain('02:00:00:00:00:02 (also in a)');
    expect(v.get('c')!.problems).toEqual([]);
    expect(v.get('d')!.problems).toEqual([]);
  });

  it('rejects VTEPs of the wrong family and a missing fabric', () => {
    const v = validateGroups(
      [group('v6', { vteps: [{ ip: '2001:db8::2' }, { ip: '198.51.100.2' }] }), group('lost', { fabric: 'nope' })],
      fabrics(fabric('default')),
    );
    expect(v.get('v6')).toMatchObject({ rendered: false, problems: [{ reason: 'AddressFamilyMismatch', message: expect.stringContaining('2001:db8::2') }] });
    expect(v.get('lost')).toMatchObject({ rendered: false, problems: [{ reason: 'FabricNotFound' }] });
  });

  it('a rejected group does not take part in MAC conflicts', () => {
    const v = validateGroups([group('ok'), group('bad', { vteps: [{ ip: '2001:db8::2' }] })], fabrics(fabric('default')));
    expect(v.get('ok')!.problems).toEqual([]);
  });

  it('fills the group-id range oldest first: one select group per VtepGroup plus one flood group per VNI', () => {
    const f = fabric('default', { ovs: { groupIdRange: { start: 100, size: 5 } } });
    const v = validateGroups(
      [
        group('g1', { vni: 1, macs: ['02:00:00:00:00:01'] }, { creationTimestamp: '2026-11-21T01:00:00Z' }),
        group('g2', { vni: 1, macs: ['02:00:00:00:00:02'] }, { creationTimestamp: '2026-11-21T02:00:00Z' }), // 3 used
        // listed first but newer than g3: age decides, not list order
        group('g4', { vni: 2, macs: ['02:00:00:00:00:04'] }, { creationTimestamp: '2026-11-21T04:00:00Z' }), // would need 7 → no
        group('g3', { vni: 3, macs: ['02:00:00:00:00:03'] }, { creationTimestamp: '2026-11-21T03:00:00Z' }), // 5 used
        group('g5', { vni: 1, macs: ['02:00:00:00:00:05'] }, { creationTimestamp: '2026-11-21T05:00:00Z' }), // would need 6 → no
      ],
      fabrics(f),
    );
    const rendered = [...v.values()].filter((x) => x.rendered).map((x) => x.name).sort();
    expect(rendered).toEqual(['g1', 'g2', 'g3']);
    expect(v.get('g4')!.problems[0]!.reason).toBe('GroupIdRangeExhausted');
    expect(v.get('g5')!.problems[0]!.reason).toBe('GroupIdRangeExhausted');
  });

  it('counts kernel nexthops (shared per VTEP IP) against nexthopIdRange when the kernel is managed', () => {
    const small = { kernel: { nexthopIdRange: { start: 1, size: 4 } } };
    const gs = [group('a', { macs: ['02:00:00:00:00:01'] }), group('b', { macs: ['02:00:00:00:00:02'] }, { creationTimestamp: '2026-11-21T02:00:00Z' })];
    // a: 1 group + 2 nexthops = 3; b shares both IPs: +1 = 4 → fits.
    expect([...validateGroups(gs, fabrics(fabric('default', small))).values()].every((x) => x.rendered)).toBe(true);
    const gs2 = [...gs, group('c', { macs: ['02:00:00:00:00:03'], vteps: [{ ip: '198.51.100.9' }] }, { creationTimestamp: '2026-11-21T03:00:00Z' })];
    const v = validateGroups(gs2, fabrics(fabric('default', small)));
    expect(v.get('c')).toMatchObject({ rendered: false, problems: [{ reason: 'NexthopIdRangeExhausted' }] });
    const unmanaged = validateGroups(gs2, fabrics(fabric('default', { kernel: { manage: false, nexthopIdRange: { size: 4 } } })));
    expect(unmanaged.get('c')!.rendered).toBe(true);
  });
});
