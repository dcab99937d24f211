import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Netns } from '../../harness/netns.js';
import { KERNEL_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { run } from '../../harness/exec.js';

const skip = missingPrerequisites(KERNEL_TOOLS);

describe.skipIf(skip)('harness: netns', () => {
  let ns: Netns;
  beforeEach(async () => {
    ns = await Netns.create();
  });
  afterEach(async () => {
    await ns.destroy();
  });

  it('holds a VXLAN device and an fdb nexthop group, read back with ip -j', async () => {
    const ifindex = await ns.addVxlan('vx100', 100, { local: '192.0.2.1' });
    await ns.ip('nexthop', 'add', 'id', '10', 'via', '198.51.100.2', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '11', 'via', '198.51.100.3', 'fdb');
    await ns.ip('nexthop', 'add', 'id', '20', 'group', '10,3/11,1', 'fdb');
    await ns.bridge('fdb', 'add', '02:00:00:00:00:aa', 'dev', 'vx100', 'self', 'static', 'nhid', '20');

    const nexthops = await ns.ipJson<{ id: number; group?: { id: number; weight?: number }[]; fdb?: boolean; gateway?: string }>('nexthop', 'show');
    const group = nexthops.find((n) => n.id === 20);
    // iproute2 prints flags as keys with a null value: `"fdb": null`.
    expect(group && 'fdb' in group).toBe(true);
    expect(group?.group?.map((m) => [m.id, m.weight ?? 1])).toEqual([[10, 3], [11, 1]]);
    expect(nexthops.find((n) => n.id === 10)?.gateway).toBe('198.51.100.2');

    const fdb = await ns.bridgeJson<{ mac: string; ifname: string; nhid?: number }>('fdb', 'show', 'dev', 'vx100');
    expect(fdb.find((e) => e.mac === '02:00:00:00:00:aa')?.nhid).toBe(20);

    const [link] = await ns.ipJson<{ ifindex: number; linkinfo: { info_kind: string; info_data: { id: number } } }>('-d', 'link', 'show', 'dev', 'vx100');
    expect(link?.ifindex).toBe(ifindex);
    expect(link?.linkinfo.info_data.id).toBe(100);
  });

  it('is private: the host namespace does not see its devices', async () => {
    await ns.addVxlan('vxpriv', 7);
    await expect(run('ip', ['link', 'show', 'dev', 'vxpriv'])).rejects.toThrow(/does not exist/);
    const { stdout } = await ns.exec('ip', '-o', 'link', 'show');
    expect(stdout).toContain('vxpriv');
  });

  it('is gone after destroy', async () => {
    const other = await Netns.create();
    await other.destroy();
    const { stdout } = await run('ip', ['netns', 'list']);
    expect(stdout).not.toContain(other.name);
  });
});
