import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no privileges and starts no processes;
// `integration` drives the real kernel (network namespaces), ovs-vswitchd and
// kube-apiserver, so it runs as root with few workers (the machine has 2 cores
// and every test starts its own daemons).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Unit tests run first, as a group of their own (vitest requires
          // projects with different worker limits to be in different groups).
          sequence: { groupOrder: 0 },
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          environment: 'node',
          globalSetup: ['test/harness/global-setup.ts'],
          pool: 'forks',
          maxWorkers: 2,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
