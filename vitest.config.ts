import { defineConfig } from "vitest/config";

/**
 * Files that change what every module in their process sees (vi.mock of a Drover module, the global
 * tracer, Prometheus's registry): they run in a module registry of their own, in the `services` project.
 */
const OWN_MODULES = [
  "test/integration/agent/idle.test.ts",
  "test/integration/jobs/agent-home.test.ts",
  "test/integration/traces-off.test.ts",
  "test/integration/traces-otlp.test.ts",
  "test/integration/traces.test.ts",
  "test/integration/web/metrics-access.test.ts",
];

/** PostgreSQL and Redis for the test files (test/helpers/global-setup.ts): fails early when neither is up. */
const SERVICES = ["test/helpers/global-setup.ts"];

/**
 * Projects:
 * - `unit` (test/unit/: pure, no services; `npm run test:unit`);
 * - `integration` (test/integration/: real PostgreSQL, Redis, git and processes, Drover in the test's
 *   process): one module registry per test process, shared by the files it runs one after another
 *   (isolate: false), so Drover's modules load once per process, not once per file (a second a file);
 * - `services` (test/e2e/: Drover's own processes; and the OWN_MODULES files), each file loading afresh.
 * `npm test` runs those three. `agents` (test/agents/: the real agent CLIs) runs alone, with `npm run
 * test:agents`. Each file gets its own database and key prefix, so files may run in parallel.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Two groups, one after the other: `unit` and `integration` first, three files at once (on two cores:
    // their time goes to PostgreSQL, git and child processes too); then `services`, two at once. The
    // end-to-end files spend most of their time waiting (leases lapsing, workers restarting); with a third
    // beside them, the crash tests missed their timings in a fresh-clone CI run: what they wait for is
    // shared with that file's processes. A full run: 467 s, against 520 s with two at once throughout.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          pool: "threads",
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          exclude: OWN_MODULES,
          isolate: false,
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
          globalSetup: SERVICES,
        },
      },
      {
        extends: true,
        test: {
          name: "services",
          include: ["test/e2e/**/*.test.ts", ...OWN_MODULES],
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
          globalSetup: SERVICES,
        },
      },
      {
        // `npm run test:agents`: the real agent CLIs, installed at pinned versions, against loopback
        // stand-ins for their model services. Opt-in (not part of `npm test`): it installs about 1 GB.
        extends: true,
        test: {
          name: "agents",
          include: ["test/agents/**/*.test.ts"],
          globalSetup: ["test/agents/global-setup.ts"],
          testTimeout: 120_000,
        },
      },
    ],
  },
});
