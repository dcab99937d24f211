import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { parseFlags } from './flags.js';
import { Lab, type ProcessHealth } from '../lab/lab.js';
import { defaultLabDir, DEFAULT_NODES } from '../lab/layout.js';
import { endpointText, parseEndpoint, startRelay } from '../lab/relay.js';

const USAGE = `Usage: evpn-ecmp lab up [--nodes N] [--dir DIR]
       evpn-ecmp lab status [--dir DIR]
       evpn-ecmp lab down [--dir DIR]

The whole system on one machine, without a cluster: etcd and kube-apiserver
on loopback, the CRDs, the chart's agent RBAC and admission policy, the
operator, and N simulated nodes — each a Node object, a network namespace
(the agent creates its VXLAN devices), its own ovs-vswitchd (dummy datapath), its own agent
and its own FRR (zebra + bgpd, BGP EVPN over a kernel control network) —
whose underlay NICs are joined by a simulated fabric switch, so VXLAN frames
really travel between nodes, all in user space. The sample manifests of
examples/ are applied (the agents then create each VNI's VXLAN device and
bridge, and export their nodes' workload MACs, which FRR advertises as
type-2 routes), and a service multihomed on node-b and node-c is announced
by gobgpd, so node-a's zebra installs an ECMP FDB entry that the agent
mirrors.

  up       build the lab (or complete a running one) and wait for convergence
  status   every process's health, and kubectl get vns / vg
  down     stop everything the lab started (by pid), delete its namespaces and files

Flags:
  --nodes N    number of nodes, 3 to 26 (default ${DEFAULT_NODES}); node-a is the client of the samples
  --dir DIR    lab directory (default ${defaultLabDir()})

Needs root (network namespaces), Open vSwitch, FRR, GoBGP and the
control-plane binaries (scripts/control-plane/build.sh; \`npm run lab\` runs
the bootstrap first).`;

function processTable(rows: ProcessHealth[]): string {
  const w = Math.max(...rows.map((r) => r.name.length), 7);
  const lines = [`${'PROCESS'.padEnd(w)}  ${'PID'.padStart(7)}  STATE`];
  for (const r of rows) {
    const state = r.running ? `running${r.detail ? `, ${r.detail}` : ''}` : `STOPPED (log: ${r.logFile})`;
    lines.push(`${r.name.padEnd(w)}  ${String(r.pid ?? '-').padStart(7)}  ${state}`);
  }
  return lines.join('\n');
}

function tour(lab: Lab): string {
  const ns = lab.netns('node-a');
  // The way this lab runs evpn-ecmp, so the lines work without it on PATH.
  const self = lab.record.cli.map((a, i) => (i === 0 && a === process.execPath ? 'node' : a)).join(' ');
  return [
    'Explore:',
    `  export KUBECONFIG=${lab.kubeconfigPath}`,
    `  ${lab.cp.kubectlPath} get evpn`,
    `  ${self} inspect kernel --netns ${ns}`,
    `  ${self} inspect ovs --bridge br-evpn --ovs-rundir ${lab.layout.nodeOvsDir('node-a')}`,
    `  vtysh --vty_socket ${lab.layout.frrDir('node-a')} -c 'show evpn es' -c 'show evpn mac vni 100'`,
    `  bridge -n ${ns} fdb show dev evpa-100      # node-a's local MACs, exported for zebra to advertise`,
    `  ${lab.cp.kubectlPath} get vns node-a -o yaml   # status.learned (from EVPN), status.local (switched here)`,
    `  ${self} lab status --dir ${lab.dir}`,
    `  ${self} lab down --dir ${lab.dir}`,
  ].join('\n');
}

/** Progress lines: rewritten in place on a terminal, one per change otherwise. */
function progressPrinter(): { line: (text: string) => void; done: () => void } {
  const tty = process.stderr.isTTY;
  let last = '';
  let open = false;
  return {
    line(text) {
      if (text === last) return;
      const sameKind = /^\[\s*\d+ s\]/.test(text) && /^\[\s*\d+ s\]/.test(last);
      last = text;
      if (tty && sameKind) {
        process.stderr.write(`\r\x1b[K${text}`);
      } else {
        process.stderr.write(`${open ? '\n' : ''}${text}${tty ? '' : '\n'}`);
      }
      open = tty;
    },
    done() {
      if (open) process.stderr.write('\n');
      open = false;
    },
  };
}

async function up(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { nodes: { type: 'string' }, dir: { type: 'string' } });
  const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
  if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 3 || nodes > 26)) throw new UsageError(`--nodes: "${values.nodes}" is not a number from 3 to 26`);
  const dir = resolve(values.dir ?? defaultLabDir());
  const progress = progressPrinter();
  let lab: Lab;
  try {
    lab = await Lab.up({ dir, nodes, onProgress: (l) => progress.line(l) });
  } catch (err) {
    progress.done();
    // What started keeps running, for a look at it; say how to see and remove it.
    if (existsSync(join(dir, 'lab.json'))) {
      process.stderr.write(`lab up failed; see \`evpn-ecmp lab status --dir ${dir}\` and the logs in ${dir}, remove it with \`evpn-ecmp lab down --dir ${dir}\`\n`);
    }
    throw err;
  }
  progress.done();
  process.stdout.write(`\nThe lab is up (${lab.nodes.length} nodes, converged).\n\n${await lab.tables()}\n${tour(lab)}\n`);
  return 0;
}

async function status(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { dir: { type: 'string' } });
  const dir = resolve(values.dir ?? defaultLabDir());
  const lab = Lab.open(dir);
  if (!lab) {
    process.stdout.write(`no lab in ${dir} (start one with \`evpn-ecmp lab up\`)\n`);
    return 1;
  }
  const rows = await lab.processes();
  process.stdout.write(`Lab in ${dir}: ${lab.nodes.length} nodes, apiserver ${lab.cp.server}\n\n${processTable(rows)}\n\n`);
  try {
    process.stdout.write(`${await lab.tables()}\n`);
  } catch (err) {
    process.stdout.write(`kubectl failed: ${(err as Error).message.split('\n')[0]}\n`);
  }
  process.stdout.write(`export KUBECONFIG=${lab.kubeconfigPath}\n`);
  return rows.every((r) => r.running) ? 0 : 1;
}

async function down(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { dir: { type: 'string' } });
  const dir = resolve(values.dir ?? defaultLabDir());
  const removed = await Lab.down(dir, (line) => process.stderr.write(`${line}\n`));
  if (removed.length === 0) process.stdout.write(`no lab in ${dir}\n`);
  else process.stdout.write(`lab in ${dir} removed:\n${removed.map((r) => `  ${r}`).join('\n')}\n`);
  return 0;
}

/** Internal: the byte relay that carries the agents' apiserver connections out of their namespaces. */
async function relay(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { listen: { type: 'string' }, connect: { type: 'string' } });
  if (!values.listen || !values.connect) throw new UsageError('relay needs --listen and --connect (unix:PATH or tcp:HOST:PORT)');
  let listen, target;
  try {
    listen = parseEndpoint(values.listen);
    target = parseEndpoint(values.connect);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const server = await startRelay(listen, target);
  process.stderr.write(`relay ${endpointText(listen)} -> ${endpointText(target)}\n`);
  await new Promise<void>((r) => {
    process.once('SIGTERM', r);
    process.once('SIGINT', r);
  });
  server.close();
  // Open client connections would keep the loop alive; the relay holds no
  // state worth draining, so it leaves at once.
  process.exit(0);
}

export const labCommand: Command = {
  name: 'lab',
  usage: USAGE,
  async run(args) {
    // `lab status | head`: a reader that leaves early is not an error.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
    const [sub, ...rest] = args;
    switch (sub) {
      case 'up':
        return up(rest);
      case 'status':
        return status(rest);
      case 'down':
        return down(rest);
      case 'relay':
        return relay(rest);
      default:
        throw new UsageError(sub === undefined ? 'missing subcommand: up, status or down' : `unknown subcommand "${sub}" (up, status, down)`);
    }
  },
};
