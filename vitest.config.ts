import { defineConfig } from "vitest/config";

/**
 * Files that change what every module in their process sees (vi.mock of a Drover module, the global
 * tracer, Prometheus's registry): they run in a module registry of their own, in the `services` project.
 */
const OWN_MODULES = [
  "test/integration/agent/idle.test.ts",
  "test/integration/jobs/agent-home.test.ts",
  "test/integration/traces-off.test.ts",
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
    // The end-to-end files spend most of their time waiting (leases lapsing, workers restarting), so two
    // files at once even on two cores; the default (cores - 1) would run them one by one. Three were tried
    // (a quiet run: 488 s against 590 s) but the crash and stacked tests then missed their timings in a
    // fresh-clone CI run: the time they wait for is shared with a third file's processes.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], pool: "threads" },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          exclude: OWN_MODULES,
          isolate: false,
          globalSetup: SERVICES,
        },
      },
      {
        extends: true,
        test: {
          name: "services",
          include: ["test/e2e/**/*.test.ts", ...OWN_MODULES],
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
