import { describe, expect, it } from 'vitest';
import { bgpdConfig, bgpPeers, GOBGP_PORT, zebraConfig } from '../../../src/lab/frr.js';
import { gobgpConfig, gobgpEsiArgs, multihomedServiceRoutes } from '../../../src/lab/gobgp.js';
import { LabLayout, MULTIHOMED_SERVICE, RUN_ROOT, workloadPorts } from '../../../src/lab/layout.js';

const NODES = ['node-a', 'node-b', 'node-c', 'node-d'];

describe("the lab's EVPN speakers, as configured", () => {
  it('peers every bgpd with every other node, and the non-hosting nodes with both GoBGP speakers on their port', () => {
    expect(bgpPeers('node-a', NODES)).toEqual([
      { address: '192.0.2.2', description: 'FRR of node-b' },
      { address: '192.0.2.3', description: 'FRR of node-c' },
      { address: '192.0.2.4', description: 'FRR of node-d' },
      { address: '192.0.2.102', description: 'GoBGP of node-b', port: GOBGP_PORT },
      { address: '192.0.2.103', description: 'GoBGP of node-c', port: GOBGP_PORT },
    ]);
    // node-b hosts the service: it never learns it from node-c's speaker.
    expect(bgpPeers('node-b', NODES).map((p) => p.address)).toEqual(['192.0.2.1', '192.0.2.3', '192.0.2.4']);
    const conf = bgpdConfig('node-a', NODES);
    expect(conf).toContain('router bgp 65000\n bgp router-id 192.0.2.1\n');
    expect(conf).toContain(' neighbor 192.0.2.102 port 1179\n');
    expect(conf).toMatch(/address-family l2vpn evpn\n {2}neighbor fabric activate\n {2}advertise-all-vni\n/);
    expect(zebraConfig('node-a')).toContain('hostname node-a\n');
  });

  it('gives gobgpd of a hosting node the non-hosting nodes as passive neighbors, from its own address', () => {
    const conf = gobgpConfig('node-b', NODES);
    expect(conf).toContain('router-id = "192.0.2.102"');
    expect(conf).toContain(`port = ${GOBGP_PORT}`);
    expect(conf.match(/neighbor-address = "([\d.]+)"/g)).toEqual(['neighbor-address = "192.0.2.1"', 'neighbor-address = "192.0.2.4"']);
    expect(conf.match(/passive-mode = true/g)).toHaveLength(2);
  });

  it('announces EAD per ES, EAD per EVI and the MAC with its ESI, next hop = the node VTEP, the VNI route target', () => {
    const routes = multihomedServiceRoutes('node-c');
    expect(routes.map((r) => r[0])).toEqual(['a-d', 'a-d', 'macadv']);
    for (const r of routes) {
      expect(r.join(' ')).toContain('esi 0 11:11:11:11:11:11:11:11:11');
      expect(r.join(' ')).toContain('rt 65000:100 encap vxlan nexthop 192.0.2.3');
    }
    expect(routes[0]!.join(' ')).toContain('etag 4294967295 label 0 rd 192.0.2.103:1');
    expect(routes[0]!.join(' ')).toContain('esi-label 0');
    expect(routes[1]!.join(' ')).toContain('etag 0 label 100 rd 192.0.2.103:100');
    expect(routes[2]!.slice(0, 3)).toEqual(['macadv', MULTIHOMED_SERVICE.mac, '0.0.0.0']);
  });

  it('turns an ESI in FRR notation into gobgp arguments, and refuses a malformed one by name', () => {
    expect(gobgpEsiArgs('03:02:00:00:00:03:00:00:00:01')).toEqual(['esi', '3', '02:00:00:00:03:00:00:00:01']);
    expect(() => gobgpEsiArgs('00:11')).toThrow(/ESI 00:11: expected 10 bytes/);
  });

  it('puts the multihomed port on node-b and node-c only, and FRR runtime files under RUN_ROOT + the lab path', () => {
    expect(workloadPorts('node-a').map((p) => p.name)).toEqual(['vm1', 'web', 'db']);
    expect(workloadPorts('node-c').find((p) => p.name === 'mh')).toEqual({ name: 'mh', vni: 100, mac: '02:00:00:00:03:00', attached: false, exported: false });
    expect(new LabLayout('/tmp/x/lab').frrDir('node-a')).toBe(`${RUN_ROOT}/tmp/x/lab/nodes/node-a/frr`);
  });
});
