/**
 * Writes crds/*.yaml from the zod schemas: `npx tsx src/api/write-crds.ts`.
 * Run it after changing anything in src/api; the unit tests fail until the
 * committed YAML matches.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdFileName, renderCrdYaml, RESOURCE_KINDS } from './crds.js';

/** crds/ at the repository root, from src/api or dist/src/api alike. */
export function crdsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!dir.endsWith('/src/api') && dir !== '/') dir = dirname(dir);
  let root = dirname(dirname(dir));
  if (root.endsWith('/dist')) root = dirname(root);
  return join(root, 'crds');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = crdsDir();
  mkdirSync(dir, { recursive: true });
  for (const kind of RESOURCE_KINDS) {
    const file = join(dir, crdFileName(kind));
    writeFileSync(file, renderCrdYaml(kind));
    process.stdout.write(`wrote ${file}\n`);
  }
}
