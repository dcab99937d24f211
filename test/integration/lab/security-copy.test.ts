/**
 * The lab applies a copy of the chart's agent ServiceAccount, RBAC and
 * ValidatingAdmissionPolicies (src/lab/agent-security.yaml) so that
 * `npm run lab` needs no Helm. Rendered again from the chart here, it must
 * be the same objects; when the chart changes, regenerate the copy with
 * `npx tsx src/lab/write-security.ts`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AGENT_SECURITY_FILE, agentSecurityDocuments, helmTemplateArgs } from '../../../src/lab/security.js';
import { helm } from '../../harness/helm.js';
import { missingPrerequisites } from '../../harness/prereq.js';

const skip = missingPrerequisites(['go']);

describe.skipIf(skip)("the lab's copy of the chart's security manifests", () => {
  it('holds exactly the objects the chart renders for the agent (labels aside)', async () => {
    const { stdout } = await helm(helmTemplateArgs());
    const fromChart = agentSecurityDocuments(stdout);
    const copy = agentSecurityDocuments(readFileSync(AGENT_SECURITY_FILE, 'utf8'));
    expect(fromChart.map((d) => `${d.kind}/${d.metadata?.name}`)).toEqual([
      'ServiceAccount/evpn-ecmp-agent',
      'ClusterRole/evpn-ecmp-agent',
      'ClusterRoleBinding/evpn-ecmp-agent',
      'ValidatingAdmissionPolicy/evpn-ecmp-agent-own-node',
      'ValidatingAdmissionPolicyBinding/evpn-ecmp-agent-own-node',
      // The heartbeat: the node's Lease, tied to the node like the status.
      'Role/evpn-ecmp-agent-heartbeat',
      'RoleBinding/evpn-ecmp-agent-heartbeat',
      'ValidatingAdmissionPolicy/evpn-ecmp-agent-own-lease',
      'ValidatingAdmissionPolicyBinding/evpn-ecmp-agent-own-lease',
    ]);
    expect(copy, 'src/lab/agent-security.yaml is out of date: run `npx tsx src/lab/write-security.ts`').toEqual(fromChart);
  }, 120_000);
});
