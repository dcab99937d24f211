/**
 * The code runs on the Node.js LTS of the container image, not only on the
 * machines' Node 20: the compiled CLI, and an agent programming a node end
 * to end (the netlink addon, OpenFlow, OVSDB, the state file, HTTP), on that
 * very version (scripts/node-lts.sh fetches it once through npm).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../harness/exec.js';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { AgentLab, metricValue } from '../agent/lab.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);

describe.skipIf(skip)('on the Node.js LTS of the image', () => {
  const node = execFileSync('bash', [`${ROOT}scripts/node-lts.sh`], { encoding: 'utf8' }).trim();
  let lab: AgentLab | undefined;
  afterEach(async () => {
    await lab?.teardown();
    lab = undefined;
  });

  it('is the image\'s version, a 24.x LTS', async () => {
    const { stdout } = await run(node, ['-p', 'JSON.stringify([process.version, process.release.lts])']);
    const [version, lts] = JSON.parse(stdout) as [string, string | undefined];
    expect(version).toMatch(/^v24\./);
    expect(lts).toBe('Krypton');
    const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
    expect(dockerfile).toContain(`ARG NODE_IMAGE=node:${version.slice(1)}-`);
  });

  it('runs the compiled CLI (what the image runs), every subcommand loading', async () => {
    const { stdout } = await run(node, [`${ROOT}bin/evpn-ecmp.js`, '--version']);
    expect(stdout.trim()).toBe((JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version);
    for (const command of ['agent', 'operator', 'inspect', 'lab']) {
      const help = await run(node, [`${ROOT}bin/evpn-ecmp.js`, command, '--help']);
      expect(help.stdout).toContain(`evpn-ecmp ${command}`);
    }
  });

  it('runs an agent that programs the kernel and Open vSwitch and reports Ready', async () => {
    const vteps = ['192.0.2.11', '192.0.2.12'];
    lab = new AgentLab({ vteps, nodeBinary: node });
    await lab.setup();
    lab.writeState([{ name: 'web', vni: 100, vteps: [{ ip: vteps[0]!, weight: 3 }, { ip: vteps[1]! }], macs: ['02:00:00:00:00:aa'] }]);
    lab.startAgent();
    const status = await lab.waitReady(1, 60_000);
    expect(status.groups?.[0]).toMatchObject({ name: 'web', state: 'Programmed', paths: [{ vtep: vteps[0], weight: 3 }, { vtep: vteps[1], weight: 1 }] });
    expect(await lab.dumpGroups()).toHaveLength(1);
    const metrics = await lab.metrics();
    expect(metrics).toMatch(/nodejs_version="v24\./);
    expect(metricValue(metrics, 'evpn_agent_engine_recomputes_total', { engine_node: 'ofDesired' })).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
