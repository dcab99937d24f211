import { haveCommand } from './exec.js';

/**
 * Integration tests need root and real tools. Outside CI a missing
 * prerequisite skips the suite with its reason printed; in CI (`CI=true`) it
 * fails, because a silently skipped suite would make a green run meaningless.
 */
export function missingPrerequisites(tools: readonly string[]): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root privileges');
  for (const tool of tools) if (!haveCommand(tool)) missing.push(tool);
  if (missing.length === 0) return undefined;
  const reason = `missing prerequisites: ${missing.join(', ')} (run scripts/bootstrap.sh as root)`;
  if (process.env.CI === 'true') throw new Error(reason);
  process.stderr.write(`SKIPPING integration suite: ${reason}\n`);
  return reason;
}

export const KERNEL_TOOLS = ['ip', 'bridge'] as const;
export const OVS_TOOLS = ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl', 'ovs-appctl'] as const;
/** The lab's EVPN control plane: Debian's frr (zebra and bgpd are not on PATH) and gobgpd. */
export const EVPN_TOOLS = ['/usr/lib/frr/zebra', '/usr/lib/frr/bgpd', 'vtysh', 'gobgpd', 'gobgp'] as const;
