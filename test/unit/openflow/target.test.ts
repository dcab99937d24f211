import { describe, expect, it } from 'vitest';
import { formatTarget, parseTarget } from '../../../src/lib/openflow/target.js';
import { ipv6FromBytes, ipv6ToBytes } from '../../../src/lib/openflow/addresses.js';
import { OpenFlowEncodeError } from '../../../src/lib/openflow/errors.js';

describe('connection targets and addresses', () => {
  it('parses OVS-style targets', () => {
    expect(parseTarget('unix:/run/ovs/br0.mgmt')).toEqual({ kind: 'unix', path: '/run/ovs/br0.mgmt' });
    expect(parseTarget('/run/ovs/br0.mgmt')).toEqual({ kind: 'unix', path: '/run/ovs/br0.mgmt' });
    expect(parseTarget('tcp:192.0.2.1:6653')).toEqual({ kind: 'tcp', host: '192.0.2.1', port: 6653 });
    expect(parseTarget('tcp:[2001:db8::1]:6653')).toEqual({ kind: 'tcp', host: '2001:db8::1', port: 6653 });
    expect(formatTarget(parseTarget('tcp:[2001:db8::1]:6653'))).toBe('tcp:[2001:db8::1]:6653');
    expect(() => parseTarget('ssl:1.2.3.4:6653')).toThrow(/bad connection target/);
    expect(() => parseTarget('tcp:host:0')).toThrow(/bad connection target/);
  });

  it('spells IPv6 addresses as RFC 5952 (and OVS) do', () => {
    const cases: [string, string][] = [
      ['2001:db8::1', '2001:db8::1'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ];
    for (const [input, want] of cases) expect(ipv6FromBytes(ipv6ToBytes('x', input))).toBe(want);
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3']) expect(() => ipv6ToBytes('x', bad)).toThrow(OpenFlowEncodeError);
  });
});
