import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Netns } from '../../harness/netns.js';
import { KERNEL_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { LibraryChild } from './library-child.js';

const skip = missingPrerequisites(KERNEL_TOOLS);

describe.skipIf(skip)('rtnetlink: requests the kernel rejects', () => {
  let ns: Netns;
  let vx: number;
  const children: LibraryChild[] = [];
  beforeEach(async () => {
    ns = await Netns.create();
    vx = await ns.addVxlan('vx100', 100, { local: '192.0.2.1' });
    await ns.ip('nexthop', 'add', 'id', '1', 'via', '198.51.100.1', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '2', 'via', '2001:db8::2', 'fdb');
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await c.stop();
    await ns.destroy();
  });

  it('carries errno and the extended-ack text (NETLINK_EXT_ACK set through the socket descriptor)', async () => {
    const lib = await LibraryChild.start(ns);
    children.push(lib);
    expect(await lib.call('extendedAckUnavailable')).toBeNull();
    const cases: [string, unknown[], Record<string, unknown>][] = [
      ['addFdbGroup', [{ id: 20, members: [{ id: 999, weight: 1 }] }], { errno: 22, code: 'EINVAL', extack: 'Invalid nexthop id' }],
      ['addFdbGroup', [{ id: 21, members: [{ id: 1, weight: 1 }, { id: 2, weight: 1 }] }], { errno: 22, extack: 'FDB nexthop group cannot have mixed family nexthops' }],
      ['addFdbEntry', [{ ifindex: vx, mac: '02:00:00:00:00:01', nhid: 1, state: 0x42 }], { errno: 22, extack: 'Nexthop is not a multipath group' }],
      ['addFdbEntry', [{ ifindex: vx, mac: '02:00:00:00:00:01', nhid: 12345, state: 0x42 }], { errno: 22, extack: 'Nexthop id does not exist' }],
      ['addFdbNexthop', [{ id: 1, gateway: '198.51.100.1' }], { errno: 17, code: 'EEXIST' }],
      ['addFdbEntry', [{ ifindex: vx, mac: '02:00:00:00:00:02', dst: '2001:db8::5' }], { errno: 97, code: 'EAFNOSUPPORT' }],
      ['deleteNexthop', [4242], { errno: 2, code: 'ENOENT' }],
    ];
    for (const [method, args, want] of cases) {
      await expect(lib.call(method, ...args), `${method} ${JSON.stringify(args)}`).rejects.toMatchObject({ name: 'KernelError', detail: want });
    }
    // The socket stays usable after errors.
    await lib.call('addFdbGroup', { id: 22, members: [{ id: 1, weight: 2 }] });
    expect((await ns.ipJson<{ id: number }>('nexthop', 'show', 'id', '22'))[0]?.id).toBe(22);
  });

  it('without NETLINK_EXT_ACK the kernel sends the errno only', async () => {
    const lib = await LibraryChild.start(ns, { extendedAck: false });
    children.push(lib);
    await expect(lib.call('addFdbGroup', { id: 20, members: [{ id: 999, weight: 1 }] })).rejects.toMatchObject({ name: 'KernelError', detail: { errno: 22 } });
    const err = await lib.call('addFdbGroup', { id: 20, members: [{ id: 999, weight: 1 }] }).catch((e: { detail: { extack?: string } }) => e.detail);
    expect(err.extack).toBeUndefined();
  });
});
