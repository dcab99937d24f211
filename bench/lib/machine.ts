import { cpus, loadavg, totalmem, release } from 'node:os';
import { execFileSync } from 'node:child_process';

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  openvswitch: string;
  iproute2: string;
  /** 1, 5 and 15 minute load averages when the run started: the machine may be shared. */
  loadAverage: number[];
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n')[0]?.trim() ?? '';
  } catch {
    return 'unknown';
  }
}

/** What the numbers were measured on: they mean little without it. */
export function machineFacts(): MachineFacts {
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    openvswitch: firstLine('ovs-vswitchd', ['--version']),
    iproute2: firstLine('ip', ['-V']),
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
