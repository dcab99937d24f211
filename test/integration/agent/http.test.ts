/**
 * What the agent's HTTP endpoints expose when started with no address flags
 * (issue 18): with the host's network (the chart's DaemonSet) every socket
 * it opens is reachable by the node's neighbours, so by default it listens
 * on the loopback of both families only, and the debug endpoints (a
 * recompute costs seconds of CPU at scale, unauthenticated) are off unless
 * `--debug-endpoints` is given. The agent runs in its own network namespace
 * (standing in for the host's), without Open vSwitch: HTTP is served from
 * the start, whatever the dataplane does.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerCleanup } from '../../harness/cleanup.js';
import { Netns, stopChild } from '../../harness/netns.js';
import { KERNEL_TOOLS, missingPrerequisites } from '../../harness/prereq.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, 'ss']);
const ENTRY = new URL('./run-cli.ts', import.meta.url).pathname;

describe.skipIf(skip)('agent HTTP endpoints by default', () => {
  let ns: Netns;
  let dir = '';
  let agent: ChildProcess | undefined;
  let log: string[] = [];
  let unregister = () => {};

  beforeEach(async () => {
    ns = await Netns.create();
    dir = mkdtempSync(join(tmpdir(), 'evpn-agent-http-'));
    const d = dir;
    unregister = registerCleanup(() => rmSync(d, { recursive: true, force: true }));
    writeFileSync(
      join(dir, 'state.json'),
      JSON.stringify({ apiVersion: 'evpn.ecmp.dev/v1alpha1', kind: 'VtepNodeState', metadata: { name: 'node-a' }, spec: { fabric: 'default', localVtepIP: '192.0.2.1' } }),
    );
    log = [];
  });
  afterEach(async () => {
    if (agent) await stopChild(agent);
    agent = undefined;
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
    unregister();
  });

  function start(...extra: string[]): void {
    // An empty run directory: no Open vSwitch to connect to, which the agent retries quietly.
    agent = ns.spawn(process.execPath, [
      '--import', 'tsx', ENTRY, 'agent', '--node', 'node-a',
      '--state-file', join(dir, 'state.json'), '--status-file', join(dir, 'status.json'), '--ovs-rundir', dir,
      ...extra,
    ]);
    agent.stderr!.setEncoding('utf8');
    agent.stderr!.on('data', (chunk: string) => log.push(...chunk.split('\n').filter(Boolean)));
    agent.stdout!.resume();
  }

  /** Local addresses of the TCP sockets listening in the namespace, as `ss` prints them. */
  async function listening(): Promise<string[]> {
    const { stdout } = await ns.exec('ss', '-Htln');
    return stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[3]!).sort();
  }

  async function waitListening(count: number): Promise<string[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const l = await listening();
      if (l.length >= count) return l;
      if (agent?.exitCode !== null) throw new Error(`agent exited ${agent?.exitCode}:\n${log.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`agent listens on ${JSON.stringify(l)} after 30 s:\n${log.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** An HTTP request made from inside the namespace. */
  async function http(url: string, method = 'GET'): Promise<number> {
    const script = `const r = await fetch(${JSON.stringify(url)}, { method: ${JSON.stringify(method)} }); process.stdout.write(String(r.status));`;
    const { stdout } = await ns.exec(process.execPath, '--input-type=module', '-e', script);
    return Number(stdout);
  }

  it('listens on 127.0.0.1 and ::1 only, and serves no debug endpoint', async () => {
    start();
    const sockets = await waitListening(4);
    expect(sockets).toEqual(['127.0.0.1:8080', '127.0.0.1:8081', '[::1]:8080', '[::1]:8081']);
    for (const host of ['127.0.0.1', '[::1]']) {
      expect(await http(`http://${host}:8081/healthz`)).toBe(200);
      expect(await http(`http://${host}:8080/metrics`)).toBe(200);
      expect(await http(`http://${host}:8081/debug/engine`)).toBe(404);
      expect(await http(`http://${host}:8081/debug/recompute`, 'POST')).toBe(404);
    }
  });

  it('serves the debug endpoints with --debug-endpoints, on the loopback all the same', async () => {
    start('--debug-endpoints');
    expect(await waitListening(4)).toEqual(['127.0.0.1:8080', '127.0.0.1:8081', '[::1]:8080', '[::1]:8081']);
    expect(await http('http://[::1]:8081/debug/engine')).toBe(200);
    expect(await http('http://127.0.0.1:8081/debug/recompute')).toBe(405); // a GET never triggers it
  });

  it('on a host without IPv6 serves 127.0.0.1 and says why ::1 is missing', async () => {
    await ns.exec('sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
    await ns.exec('sysctl', '-q', '-w', 'net.ipv6.conf.lo.disable_ipv6=1');
    start();
    expect(await waitListening(2)).toEqual(['127.0.0.1:8080', '127.0.0.1:8081']);
    expect(await http('http://127.0.0.1:8081/healthz')).toBe(200);
    expect(log.filter((l) => l.includes('the host has no IPv6')).length).toBe(2);
    expect(agent!.exitCode).toBe(null);
  });
});
