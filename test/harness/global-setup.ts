import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NETNS_PREFIX } from './netns.js';
import { KUBE_DIR_PREFIX, OWNER_PID_FILE } from './kube.js';
import { pidsUsing } from '../../src/lab/daemon.js';
import { LabLayout } from '../../src/lab/layout.js';

/** Temporary lab directories of the end-to-end tests (test/integration/lab). */
export const LAB_DIR_PREFIX = 'evpn-lab-';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when the directory names a live owner process in its owner.pid file. */
function ownerAlive(dir: string): boolean {
  try {
    const pid = Number(readFileSync(join(dir, OWNER_PID_FILE), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid);
  } catch {
    return false;
  }
}

/** Namespaces made by test workers that no longer run: leaks. */
function orphanNamespaces(): string[] {
  let out = '';
  try {
    out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(NETNS_PREFIX))
    .filter((n) => !pidAlive(Number(n.slice(NETNS_PREFIX.length).split('-')[0])));
}

/** Daemons started from a sandbox directory that is gone or whose test process is gone. */
function orphanOvsDaemons(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const ovs = /^(ovsdb-server|ovs-vswitchd)\0/.test(cmdline) && cmdline.includes(join(tmpdir(), 'evpn-ovs-'));
    // Control-plane daemons (kube.ts) run with cwd and paths in their temp dir.
    const kube = /(^|\/)(etcd|kube-apiserver|kube-controller-manager)\0/.test(cmdline) && cmdline.includes(join(tmpdir(), KUBE_DIR_PREFIX));
    if (!ovs && !kube) continue;
    const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
    if (ppid === 1) pids.push(Number(entry)); // its test process died without stopping it
  }
  return pids;
}

function sweep(): string[] {
  const found: string[] = [];
  for (const ns of orphanNamespaces()) {
    found.push(`network namespace ${ns}`);
    try {
      execFileSync('ip', ['netns', 'delete', ns]);
    } catch {
      // reported below all the same
    }
  }
  for (const pid of orphanOvsDaemons()) {
    found.push(`daemon pid ${pid}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  // Labs of test/integration/lab: their processes are detached (they outlive
  // the worker by design), so a worker killed outright leaves them running.
  for (const dir of readdirSync(tmpdir()).filter((d) => d.startsWith(LAB_DIR_PREFIX))) {
    const path = join(tmpdir(), dir);
    // Only a test's lab names its owner; a lab someone started by hand in a
    // look-alike directory has no owner.pid and is not ours to remove.
    if (!existsSync(join(path, OWNER_PID_FILE)) || ownerAlive(path)) continue;
    for (const pid of pidsUsing(path)) {
      found.push(`lab process ${pid}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    found.push(`directory ${path}`);
    rmSync(path, { recursive: true, force: true });
    // Its FRR runtime files (src/lab/layout.ts, RUN_ROOT).
    rmSync(new LabLayout(path).runDir, { recursive: true, force: true });
  }
  for (const dir of readdirSync(tmpdir()).filter((d) => d.startsWith('evpn-ovs-') || d.startsWith(KUBE_DIR_PREFIX))) {
    const path = join(tmpdir(), dir);
    // A harness that is still setting its directory up has no daemon running
    // from it yet; it records its own pid there (kube.ts) so that a parallel
    // run's sweep leaves it alone.
    if (ownerAlive(path)) continue;
    const inUse = readdirSync('/proc').some((p) => {
      try {
        return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(path);
      } catch {
        return false;
      }
    });
    if (!inUse) {
      found.push(`directory ${path}`);
      rmSync(path, { recursive: true, force: true });
    }
  }
  return found;
}

/** Sweeps what an earlier crashed run left; after the run, fails if this run leaked anything. */
export function setup(): () => void {
  const stale = sweep();
  if (stale.length) process.stderr.write(`test harness: removed leftovers of an earlier run: ${stale.join(', ')}\n`);
  return () => {
    const leaked = sweep();
    if (leaked.length) throw new Error(`integration tests leaked (now removed): ${leaked.join(', ')}`);
  };
}
