import { describe, expect, it } from "vitest";
import { DroverConfig } from "../../../src/config/schema.ts";
import { taskConfig } from "../../../src/config/stored.ts";

/**
 * drover.yml as tasks recorded it in PostgreSQL, read back by the current version: what this version
 * stores, what the version before it stored (with keys drover.yml no longer accepts), and what the
 * first version stored (before failover lists, check timeouts, retry delays and parsed budgets).
 */
describe("taskConfig", () => {
  /** Recorded by the previous version for `agent: claude`, two checks, `budget: 2h`, `task_timeout: 20m`. */
  const PREVIOUS = {
    label: "drover",
    agent: ["claude"],
    agent_args: [],
    task_timeout: 1200000,
    max_workers: 2,
    max_attempts: 3,
    task_context_count: 5,
    max_description_size: 250000,
    max_diff_size: 250000,
    max_file_size: 100000,
    default_labels: [],
    checks: ["npm test", { run: "npm run lint", timeout: "5m" }],
    check_timeout: 600000,
    retry_delay: 60000,
    draft_prs: false,
    auto_merge: false,
    budget: { timeMs: 7200000 },
    notify: [],
  };

  it("reads what the previous version stored, durations kept in ms (not read as seconds again)", () => {
    const config = taskConfig({ id: 7, config: PREVIOUS });
    expect(config).toMatchObject({
      agent: ["claude"],
      task_timeout: 20 * 60_000,
      check_timeout: 10 * 60_000,
      retry_delay: 60_000,
      budget: { timeMs: 2 * 3_600_000 },
      checks: ["npm test", { run: "npm run lint", timeout: "5m" }],
    });
  });

  it("drops keys an older version stored that the current one no longer has", () => {
    const config = taskConfig({ id: 7, config: { ...PREVIOUS, warm_pool: true, retired_key: [1] } });
    expect(config).not.toHaveProperty("warm_pool");
    expect(config).not.toHaveProperty("retired_key");
  });

  it("reads back exactly what the current version stores", () => {
    const stored = DroverConfig.parse({
      agent: ["codex", "command"],
      agent_command: ["node", "agent.mjs", "{prompt_file}"],
      base_branch: "develop",
      guidelines: "Small functions.",
      budget: { time: "1h", cost_usd: 5 },
      checks: [{ run: "make test", timeout: 90 }],
      draft_prs: true,
    });
    expect(taskConfig({ id: 1, config: JSON.parse(JSON.stringify(stored)) })).toEqual(stored);
  });

  it("brings the first version's config up to date: one agent, the budget as written, defaults for later keys", () => {
    // No check_timeout and no retry_delay yet; one agent; the budget as drover.yml said it.
    const { check_timeout: _checkTimeout, retry_delay: _retryDelay, ...older } = PREVIOUS;
    const first = {
      ...older,
      agent: "command",
      agent_command: ["node", "agent.mjs", "{prompt_file}"],
      budget: "2h",
    };
    const config = taskConfig({ id: 3, config: first });
    expect(config).toMatchObject({
      agent: ["command"],
      budget: { timeMs: 2 * 3_600_000 },
      check_timeout: DroverConfig.parse({}).check_timeout,
      retry_delay: DroverConfig.parse({}).retry_delay,
    });
  });

  it("fails naming the task and what is wrong when the stored JSON cannot be read", () => {
    expect(() => taskConfig({ id: 42, config: { ...PREVIOUS, max_attempts: "three" } })).toThrow(
      /drover\.yml recorded with task 42 cannot be read .*max_attempts.*remove and add the label/,
    );
    expect(() => taskConfig({ id: 43, config: "not an object" })).toThrow(/task 43/);
  });
});
