import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests share one PostgreSQL server and one Redis; each file gets its own
    // database and key prefix, so files may run in parallel.
    pool: "forks",
    // The end-to-end files spend most of their time waiting (leases lapsing, workers restarting), so two
    // files at once even on two cores; the default (cores - 1) would run them one by one.
    maxWorkers: 2,
  },
});
