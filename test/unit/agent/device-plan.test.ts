import { describe, expect, it } from 'vitest';
import { planDevices } from '../../../src/agent/sync/device-plan.js';
import type { DesiredDevice } from '../../../src/agent/engine/nodes/devices.js';
import type { KernelLink } from '../../../src/agent/model.js';

const bridge: DesiredDevice = { name: 'evpnbr-100', role: 'bridge', kind: 'bridge', bridge: { vlanFiltering: false } };
const vx: DesiredDevice = { name: 'evpn-100', role: 'vxlan', kind: 'vxlan', vxlan: { vni: 100, local: '192.0.2.1', port: 4789, external: false, vnifilter: false }, master: 'evpnbr-100', port: { learning: false } };
const access: DesiredDevice = { name: 'evpa-100', role: 'access', kind: 'veth', peer: 'evpb-100', master: 'evpnbr-100', port: { learning: false } };
const peer: DesiredDevice = { name: 'evpb-100', role: 'accessPeer', kind: 'veth', peer: 'evpa-100' };
const desired = new Map([bridge, vx, access, peer].map((d) => [d.name, d]));

const link = (ifindex: number, name: string, kind: string, alias?: string, extra: Partial<KernelLink> = {}): KernelLink => ({ ifindex, name, kind, up: true, ...(alias ? { alias } : {}), ...extra });
const names = (links: KernelLink[]) => new Map(links.map((l) => [l.name, l]));
const ops = (p: ReturnType<typeof planDevices>) => p.ops.map((o) => `${o.op} ${'device' in o ? o.device.name : o.name}${'masterIfindex' in o && o.masterIfindex !== undefined ? ` master ${o.masterIfindex}` : ''}`);

describe('device plan', () => {
  it('creates the bridge first, its ports once it exists, and nothing again once all is right', () => {
    expect(ops(planDevices(desired, true, names([]), new Map(), new Map()))).toEqual(['createDevice evpnbr-100', 'createDevice evpn-100']);
    const withBridge = [link(3, 'evpnbr-100', 'bridge', 'evpn-ecmp:bridge'), link(4, 'evpn-100', 'vxlan', 'evpn-ecmp:vxlan', { vxlan: { vni: 100, port: 4789, external: false, local: '192.0.2.1' } })];
    expect(ops(planDevices(desired, true, names(withBridge), new Map(), new Map()))).toEqual(['createDevice evpa-100 master 3', 'configureDevice evpn-100 master 3']);
    const all = [...withBridge.map((l) => (l.name === 'evpn-100' ? { ...l, master: 3 } : l)), link(5, 'evpa-100', 'veth', 'evpn-ecmp:access', { master: 3 }), link(6, 'evpb-100', 'veth', 'evpn-ecmp:accessPeer')];
    expect(planDevices(desired, true, names(all), new Map(), new Map()).ops).toEqual([]);
  });

  it('never changes or deletes a device without its alias, and says so', () => {
    const theirs = [link(3, 'evpnbr-100', 'bridge', 'evpn-ecmp:bridge'), link(4, 'evpn-100', 'bridge'), link(9, 'evpn-900', 'vxlan')];
    const plan = planDevices(desired, true, names(theirs), new Map(), new Map());
    expect(ops(plan)).toEqual(['createDevice evpa-100 master 3']);
    expect(plan.notes).toEqual(["evpn-100 exists and is not the agent's (no alias evpn-ecmp:…): used as it is"]);
  });

  it('recreates an owned device of the wrong kind or VNI, deletes owned leftovers ports first, but only once the local ports are known', () => {
    const stale = [
      link(3, 'evpnbr-100', 'bridge', 'evpn-ecmp:bridge'),
      link(4, 'evpn-100', 'vxlan', 'evpn-ecmp:vxlan', { master: 3, vxlan: { vni: 999, port: 4789, external: false } }),
      link(7, 'evpnbr-200', 'bridge', 'evpn-ecmp:bridge'),
      link(8, 'evpa-200', 'veth', 'evpn-ecmp:access', { master: 7 }),
      link(9, 'evpb-200', 'veth', 'evpn-ecmp:accessPeer'),
    ];
    expect(ops(planDevices(desired, true, names(stale), new Map(), new Map()))).toEqual(['deleteDevice evpa-200', 'deleteDevice evpn-100', 'deleteDevice evpnbr-200', 'createDevice evpn-100 master 3', 'createDevice evpa-100 master 3']);
    expect(ops(planDevices(desired, false, names(stale), new Map(), new Map()))).toEqual(['deleteDevice evpn-100', 'createDevice evpn-100 master 3', 'createDevice evpa-100 master 3']);
  });

  it('does not try again what the kernel refused for good, until what is wanted changes; a refused bridge gets no access port', () => {
    const refused = new Map([[bridge.name, { device: bridge, reason: 'EOPNOTSUPP' }]]);
    const plan = planDevices(desired, true, names([]), new Map(), refused);
    expect(ops(plan)).toEqual(['createDevice evpn-100']);
    expect(plan.notes).toEqual(['evpnbr-100: EOPNOTSUPP']);
    const changed = new Map(desired).set(bridge.name, { ...bridge, bridge: { vlanFiltering: true } });
    expect(ops(planDevices(changed, true, names([]), new Map(), refused))).toEqual(['createDevice evpnbr-100', 'createDevice evpn-100']);
  });

  it('applies VNI filter and VLAN changes against what this process applied last (everything after a restart)', () => {
    const svd: DesiredDevice = { name: 'evpn0', role: 'vxlan', kind: 'vxlan', vxlan: { local: '192.0.2.1', port: 4789, external: true, vnifilter: true }, vnis: [100, 200], vlans: [{ vid: 100, tunnelId: 100 }] };
    const have = names([link(4, 'evpn0', 'vxlan', 'evpn-ecmp:vxlan', { master: 3, vxlan: { vni: 0, port: 4789, external: true, vnifilter: true } })]);
    const fresh = planDevices(new Map([[svd.name, svd]]), true, have, new Map(), new Map()).ops;
    expect(fresh).toEqual([
      { op: 'setVniFilter', ifindex: 4, name: 'evpn0', add: [100, 200], remove: [], target: [100, 200] },
      { op: 'setVlans', ifindex: 4, name: 'evpn0', add: [{ vid: 100, tunnelId: 100 }], remove: [], target: [{ vid: 100, tunnelId: 100 }] },
    ]);
    const applied = new Map([['evpn0', { vnis: [100, 300], vlans: [{ vid: 100, tunnelId: 100 }] }]]);
    expect(planDevices(new Map([[svd.name, svd]]), true, have, applied, new Map()).ops).toEqual([{ op: 'setVniFilter', ifindex: 4, name: 'evpn0', add: [200], remove: [300], target: [100, 200] }]);
  });
});
