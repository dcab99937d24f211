import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Netns } from '../../harness/netns.js';
import { KERNEL_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import type { Nexthop } from '../../../src/lib/rtnetlink/index.js';
import { nexthopsFromIproute, nexthopsFromLibrary, type IpNexthop } from './compare.js';
import { LibraryChild } from './library-child.js';

const skip = missingPrerequisites(KERNEL_TOOLS);

describe.skipIf(skip)('rtnetlink: interrupted dumps', () => {
  let ns: Netns;
  let lib: LibraryChild;
  let dir: string;
  beforeEach(async () => {
    ns = await Netns.create();
    dir = mkdtempSync(join(tmpdir(), 'rtnl-intr-'));
    lib = await LibraryChild.start(ns);
  });
  afterEach(async () => {
    await lib.stop();
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a nexthop dump that races with changes ends in ResyncNeededError(dump-interrupted); list* redoes it and matches iproute2', async () => {
    const base: string[] = [];
    for (let i = 1; i <= 20_000; i++) base.push(`nexthop add id ${i} via 10.0.${i >> 8}.${i & 0xff} fdb`);
    writeFileSync(join(dir, 'base.batch'), base.join('\n') + '\n');
    await ns.ip('-batch', join(dir, 'base.batch'));
    const churn: string[] = [];
    for (let r = 0; r < 20; r++) for (let i = 1; i <= 1000; i++) churn.push(`nexthop replace id ${i} via 10.1.${i >> 8}.${(i + r) & 0xff} fdb`);
    writeFileSync(join(dir, 'churn.batch'), churn.join('\n') + '\n');

    // Changes run while we dump again and again; the kernel marks a dump whose
    // table changed between two of its datagrams with NLM_F_DUMP_INTR. Rounds
    // of churn repeat (bounded) so a loaded machine cannot make the race vanish.
    let interrupted: { count: number; error: string | null; reason?: string } | undefined;
    let dumps = 0;
    for (let round = 0; round < 10 && !interrupted; round++) {
      let churning = true;
      const changes = ns.ip('-batch', join(dir, 'churn.batch')).finally(() => (churning = false));
      while (churning && !interrupted) {
        const r = await lib.call<{ count: number; error: string | null; reason?: string }>('probeDump', 'nexthop');
        dumps++;
        if (r.error) interrupted = r;
      }
      await changes;
    }
    expect(interrupted, `no interrupted dump in ${dumps} dumps`).toMatchObject({ error: 'ResyncNeededError', reason: 'dump-interrupted' });

    const nexthops = await lib.call<Nexthop[]>('listNexthops');
    expect(nexthops).toHaveLength(20_000);
    expect(nexthopsFromLibrary(nexthops)).toEqual(nexthopsFromIproute(await ns.ipJson<IpNexthop>('nexthop', 'show')));
  });
});
