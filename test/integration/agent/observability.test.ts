import { afterEach, describe, expect, it } from 'vitest';
import { KERNEL_TOOLS, OVS_TOOLS, missingPrerequisites } from '../../harness/prereq.js';
import { AgentLab, metricValue } from './lab.js';

const skip = missingPrerequisites([...KERNEL_TOOLS, ...OVS_TOOLS]);
const VTEPS = ['192.0.2.11', '192.0.2.12'];

/** The JSON log lines of the agent, parsed (other output is ignored). */
function logEntries(lab: AgentLab): Array<Record<string, unknown>> {
  return lab.logLines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

describe.skipIf(skip)('agent: logging and metrics conventions', () => {
  let lab: AgentLab | undefined;
  afterEach(async () => {
    await lab?.teardown();
    lab = undefined;
  });

  it('honours the chart\'s EVPN_ECMP_LOG_LEVEL, and exports build_info and the engine counters', async () => {
    lab = new AgentLab({ vteps: VTEPS, agentEnv: { EVPN_ECMP_LOG_LEVEL: 'warn' } });
    await lab.setup();
    lab.writeState([{ name: 'web', vni: 100, vteps: [{ ip: VTEPS[0]! }, { ip: VTEPS[1]! }], macs: ['02:00:00:00:00:aa'] }]);
    lab.startAgent();
    await lab.waitReady(1);
    // A state file that is refused is logged at error level, with the reason.
    lab.writeRawState('spec: [unbalanced');
    await lab.waitStatus('the refusal', (s) => s.conditions?.some((c) => /not valid YAML/.test(c.message)) ?? false);
    const entries = logEntries(lab);
    expect(entries.some((e) => e.level === 'error' && /not valid YAML/.test(String(e.msg)))).toBe(true);
    // Started, synced, state applied: all info, none of it written at warn.
    expect(entries.filter((e) => e.level === 'info' || e.level === 'debug')).toEqual([]);

    const metrics = await lab.metrics();
    expect(metrics).toMatch(/^evpn_ecmp_build_info\{version="\d+\.\d+\.\d+",nodejs_version="v\d+\.\d+\.\d+",component="agent"\} 1$/m);
    expect(metrics).toContain('# TYPE evpn_agent_engine_recomputes_total counter');
    expect(metricValue(metrics, 'evpn_agent_engine_recomputes_total', { engine_node: 'ofDesired' })).toBeGreaterThanOrEqual(1);
  });

  it('lets --log-level override the environment', async () => {
    lab = new AgentLab({ vteps: VTEPS, agentEnv: { EVPN_ECMP_LOG_LEVEL: 'error' } });
    await lab.setup();
    lab.writeState([]);
    lab.startAgent(['--log-level', 'info']);
    await lab.waitReady(1);
    expect(logEntries(lab).some((e) => e.level === 'info' && e.msg === 'agent running')).toBe(true);
  });
});
