import { defineConfig } from "vitest/config";

/**
 * Three projects: `unit` (test/unit/, pure, no services: `npm run test:unit`) and `services` (integration and
 * end-to-end: real PostgreSQL, Redis, git and processes). `npm test` runs both. `agents` (test/agents/: the real agent CLIs) runs alone, with `npm run test:agents`.
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
          name: "services",
          include: ["test/**/*.test.ts"],
          exclude: ["test/unit/**", "test/agents/**"],
          // Fails the run early, with one clear line, when PostgreSQL or Redis is not reachable.
          globalSetup: ["test/helpers/global-setup.ts"],
          // Integration tests share one PostgreSQL server and one Redis; each file gets its own database
          // and key prefix, so files may run in parallel.
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
