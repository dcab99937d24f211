/**
 * Writes src/lab/agent-security.yaml from the chart with Helm (built by
 * scripts/build-helm.sh): `npx tsx src/lab/write-security.ts`. Run it after
 * changing the chart's agent ServiceAccount, RBAC or admission policy.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_SECURITY_FILE, agentSecurityDocuments, agentSecurityYaml, helmTemplateArgs } from './security.js';

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(fileURLToPath(import.meta.url), '../../..');
  const helm = execFileSync('bash', [join(root, 'scripts/build-helm.sh')], { encoding: 'utf8' }).trim();
  const rendered = execFileSync(helm, helmTemplateArgs(), { encoding: 'utf8' });
  writeFileSync(AGENT_SECURITY_FILE, agentSecurityYaml(agentSecurityDocuments(rendered)));
  process.stdout.write(`wrote ${AGENT_SECURITY_FILE}\n`);
}
