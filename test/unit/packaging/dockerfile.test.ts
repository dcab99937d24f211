import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

// No container engine runs here, so the Dockerfile's structure is checked as text.
const text = readFileSync(new URL('../../../Dockerfile', import.meta.url), 'utf8');
const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

interface Stage {
  name: string;
  from: string;
  body: string[];
}

function stages(): Stage[] {
  const args = new Map<string, string>();
  const out: Stage[] = [];
  for (const line of lines) {
    const arg = /^ARG (\w+)=(\S+)/.exec(line);
    if (arg && out.length === 0) args.set(arg[1] ?? '', arg[2] ?? '');
    const from = /^FROM (\S+) AS (\S+)/i.exec(line);
    if (from) {
      const image = (from[1] ?? '').replace(/\$\{(\w+)\}/, (_m, n: string) => args.get(n) ?? '');
      out.push({ name: from[2] ?? '', from: image, body: [] });
    } else {
      out.at(-1)?.body.push(line);
    }
  }
  return out;
}

describe('Dockerfile', () => {
  const all = stages();
  const byName = (n: string) => {
    const s = all.find((x) => x.name === n);
    if (!s) throw new Error(`no stage ${n}`);
    return s;
  };

  it('is multi-stage: build, production dependencies, runtime', () => {
    expect(all.map((s) => s.name)).toEqual(['build', 'prod-deps', 'runtime']);
  });

  it('uses a pinned Node 20 base in every stage', () => {
    for (const s of all) expect(s.from).toMatch(/^node:20\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/);
  });

  it('builds with dev dependencies and ships production dependencies only', () => {
    expect(byName('build').body.join('\n')).toMatch(/npm ci(?![^\n]*--omit=dev)/);
    expect(byName('build').body.join('\n')).toMatch(/tsc -p tsconfig.build.json/);
    expect(byName('prod-deps').body.join('\n')).toMatch(/npm ci --omit=dev/);
    const runtime = byName('runtime').body.join('\n');
    expect(runtime).toMatch(/COPY --from=prod-deps \/src\/node_modules/);
    expect(runtime).not.toMatch(/COPY --from=build \/src\/node_modules/);
  });

  it('runs as a non-root user with the evpn-ecmp entrypoint and OCI labels', () => {
    const runtime = byName('runtime').body;
    const user = runtime.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    expect(runtime.find((l) => l.startsWith('ENTRYPOINT'))).toBe('ENTRYPOINT ["node", "/app/bin/evpn-ecmp.js"]');
    const labels = text.match(/org\.opencontainers\.image\.[a-z]+/g) ?? [];
    expect(new Set(labels)).toEqual(new Set(['org.opencontainers.image.title', 'org.opencontainers.image.description',
      'org.opencontainers.image.version', 'org.opencontainers.image.licenses', 'org.opencontainers.image.source']));
  });

  it('keeps build leftovers out of the context', () => {
    const ignore = readFileSync(new URL('../../../.dockerignore', import.meta.url), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', '.git']) expect(ignore).toContain(p);
  });
});
