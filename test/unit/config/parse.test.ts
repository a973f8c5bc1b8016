import { describe, expect, it } from "vitest";
import { parseConfig, type ConfigResult } from "../../../src/config/parse.ts";
import { renderConfigProblems } from "../../../src/github/render.ts";

function problems(result: ConfigResult) {
  if (result.ok) throw new Error(`expected the config to be refused, got ${JSON.stringify(result.config)}`);
  return result.problems;
}

describe("parseConfig", () => {
  it("gives the documented defaults when the repository has no drover.yml", () => {
    expect(parseConfig(null)).toEqual({
      ok: true,
      config: {
        label: "drover",
        agent: ["claude"],
        agent_args: [],
        task_timeout: 30 * 60_000,
        agent_idle_timeout: 5 * 60_000,
        max_workers: 2,
        max_attempts: 3,
        retry_delay: 60_000,
        check_timeout: 600_000,
        task_context_count: 5,
        max_description_size: 250_000,
        checks: [],
        draft_prs: false,
        auto_merge: false,
        default_labels: [],
        max_reworks: 3,
        update_branch: "conflicts",
        max_conflict_attempts: 2,
        stack: false,
        pool: { min: 1, max: 3 },
        notify: [],
      },
    });
    expect(parseConfig(undefined)).toEqual(parseConfig(null));
    expect(parseConfig({})).toEqual(parseConfig(null));
  });

  it("reads human units and trims the label", () => {
    const result = parseConfig({
      label: "  ai  ",
      task_timeout: "2h",
      max_description_size: "1MiB",
      max_workers: 4,
    });
    expect(result.ok && result.config).toMatchObject({
      label: "ai",
      task_timeout: 7_200_000,
      max_description_size: 1_048_576,
      max_workers: 4,
    });
  });

  it("accepts agent: command with its command as a list or a string", () => {
    expect(parseConfig({ agent: "command", agent_command: ["node", "agent.mjs", "{prompt_file}"] }).ok).toBe(
      true,
    );
    expect(parseConfig({ agent: "command", agent_command: "node agent.mjs" }).ok).toBe(true);
  });

  it("names an unknown key and its value", () => {
    expect(problems(parseConfig({ max_worker: 3 }))).toEqual([
      { key: "max_worker", value: 3, message: expect.stringContaining("not a drover.yml key") },
    ]);
  });

  it("lists the allowed agents when the agent is not one of them", () => {
    const [problem, ...rest] = problems(parseConfig({ agent: "gemini" }));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ key: "agent", value: "gemini" });
    expect(problem?.message).toBe(
      '"gemini" is not an agent Drover knows; expected one of "claude", "codex", "amp", "opencode", "command"',
    );
  });

  it.each(["claude", "codex", "amp", "opencode"])("accepts agent: %s, read as a list of one", (agent) => {
    expect(parseConfig({ agent })).toMatchObject({ ok: true, config: { agent: [agent] } });
  });

  it("reads a failover list in its order", () => {
    expect(parseConfig({ agent: ["codex", "claude", "opencode"] })).toMatchObject({
      ok: true,
      config: { agent: ["codex", "claude", "opencode"] },
    });
  });

  it("names an unknown agent in a list by its place", () => {
    expect(problems(parseConfig({ agent: ["claude", "gemni", "codx"] }))).toEqual([
      {
        key: "agent.1",
        value: "gemni",
        message: expect.stringContaining('expected one of "claude", "codex"'),
      },
      { key: "agent.2", value: "codx", message: expect.stringContaining("is not an agent Drover knows") },
    ]);
  });

  it.each([
    [[], "lists no agent; name at least one, e.g. agent: claude"],
    [5, "expected an agent name or a list of them (failover), e.g. claude or [claude, codex]"],
    [{ name: "claude" }, "expected an agent name or a list of them"],
  ])("refuses agent: %j", (agent, message) => {
    expect(problems(parseConfig({ agent }))).toEqual([
      { key: "agent", value: agent, message: expect.stringContaining(message) },
    ]);
  });

  it("refuses an agent listed twice", () => {
    expect(problems(parseConfig({ agent: ["claude", "codex", "claude"] }))).toEqual([
      { key: "agent.2", value: "claude", message: "lists claude twice" },
    ]);
  });

  it("keeps agent_command for command alone in a failover list", () => {
    expect(parseConfig({ agent: ["claude", "command"], agent_command: ["node", "agent.mjs"] }).ok).toBe(true);
    expect(parseConfig({ agent: ["claude"], agent_command: "/opt/claude/bin/claude" }).ok).toBe(true);
    expect(
      problems(parseConfig({ agent: ["claude", "codex"], agent_command: "/opt/claude/bin/claude" })),
    ).toEqual([
      {
        key: "agent_command",
        value: "/opt/claude/bin/claude",
        message: expect.stringContaining("with several agents it is only for command"),
      },
    ]);
    expect(problems(parseConfig({ agent: ["claude", "command"] }))).toEqual([
      {
        key: "agent_command",
        value: undefined,
        message: expect.stringContaining('required when agent is "command"'),
      },
    ]);
  });

  it("refuses agent_args with several agents, where one CLI's flags would break the next", () => {
    expect(parseConfig({ agent: ["claude"], agent_args: ["--model", "opus"] }).ok).toBe(true);
    expect(problems(parseConfig({ agent: ["claude", "codex"], agent_args: ["--model", "opus"] }))).toEqual([
      { key: "agent_args", value: ["--model", "opus"], message: expect.stringContaining("leave them out") },
    ]);
    expect(parseConfig({ agent: ["claude", "codex"], agent_args: [] }).ok).toBe(true);
  });

  it.each([
    ["task_timeout", "soon", "duration"],
    ["task_timeout", 0, "duration"],
    ["max_description_size", "1GB", "size"],
    ["max_workers", "3", "number"],
    ["max_workers", 0, ">=1"],
    ["draft_prs", "yes", "boolean"],
  ])("names %s and the bad value %j", (key, value, hint) => {
    expect(problems(parseConfig({ [key]: value }))).toEqual([
      { key, value, message: expect.stringContaining(hint) },
    ]);
  });

  it("names the path into a list", () => {
    expect(problems(parseConfig({ checks: ["npm test", { run: "npm run lint", timeout: "soon" }] }))).toEqual(
      [{ key: "checks.1.timeout", value: "soon", message: "expected a duration such as 90s or 5m" }],
    );
  });

  // Keys the docs once listed that Drover does not act on yet: a file setting one is refused, naming the
  // key, what Drover does instead and what to do, rather than accepted and ignored.
  it.each([
    ["max_diff_size", "250KB", "never the patch itself"],
    ["max_file_size", "100KB", "the prompt shows no files"],
  ])("refuses %s: %j, saying it is not supported yet and what Drover does instead", (key, value, instead) => {
    const [problem, ...rest] = problems(parseConfig({ [key]: value }));
    expect(rest).toEqual([]);
    expect(problem).toEqual({
      key,
      value,
      message: expect.stringMatching(/^is not supported yet: .*\. Remove it/),
    });
    expect(problem?.message).toContain(instead);
  });

  it("refuses every not-yet-supported key at once, with the other problems (a plain-http notify among them)", () => {
    const keys = problems(
      parseConfig({
        notify: [{ url: "http://hooks.example" }],
        max_diff_size: "1MB",
        max_file_size: "1MB",
        task_timeout: "later",
      }),
    ).map((p) => p.key);
    expect(keys.sort()).toEqual(["max_diff_size", "max_file_size", "notify.0.url", "task_timeout"]);
  });

  it("reads setup as a command with its limit: 20 minutes unless it says otherwise", () => {
    const read = (setup: unknown) => {
      const result = parseConfig({ setup });
      return result.ok ? result.config.setup : problems(result);
    };
    expect(read("npm ci")).toEqual({ command: "npm ci", timeoutMs: 20 * 60_000 });
    expect(read({ run: "uv sync", timeout: "5m" })).toEqual({ command: "uv sync", timeoutMs: 300_000 });
    expect(read({ run: "uv sync", timeout: "soon" })).toEqual([
      { key: "setup.timeout", value: "soon", message: "expected a duration such as 90s or 20m" },
    ]);
    expect(read("")).toEqual([
      { key: "setup", value: "", message: expect.stringContaining("e.g. setup: npm ci") },
    ]);
  });

  it("reads pool bounds, max defaulting to at least min, and refuses min above max", () => {
    const read = (pool: unknown) => {
      const result = parseConfig({ pool });
      return result.ok ? result.config.pool : problems(result);
    };
    expect(read({ min: 2 })).toEqual({ min: 2, max: 3 });
    expect(read({ min: 5 })).toEqual({ min: 5, max: 5 });
    expect(read({ max: 1, min: 0 })).toEqual({ min: 0, max: 1 });
    expect(read({ min: 4, max: 2 })).toEqual([
      {
        key: "pool",
        value: { min: 4, max: 2 },
        message: expect.stringContaining("min (4) is above max (2)"),
      },
    ]);
    expect(read({ size: 2 })).toEqual([expect.objectContaining({ key: "pool.size", value: 2 })]);
  });

  it("asks for agent_command when agent is command, with an example", () => {
    const [problem, ...rest] = problems(parseConfig({ agent: "command" }));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ key: "agent_command", value: undefined });
    expect(problem?.message).toMatch(/required when agent is "command".*agent_command: \[/);
  });

  it("reports every problem at once, not just the first", () => {
    const keys = problems(parseConfig({ agent: "command", mx_workers: 3, task_timeout: "later" })).map(
      (p) => p.key,
    );
    expect(keys.sort()).toEqual(["agent_command", "mx_workers", "task_timeout"]);
  });

  it.each([
    ["a YAML list", ["label: drover"]],
    ["a string", "label: drover"],
    ["a number", 42],
    ["false", false],
  ])("refuses a file that is %s rather than a mapping", (_what, raw) => {
    expect(problems(parseConfig(raw))).toEqual([
      { key: "(file)", value: raw, message: "must be a mapping of keys to values" },
    ]);
  });

  it("on failure, hints at the label the file means so the person who added it hears why", () => {
    const refused = (raw: unknown) => {
      const result = parseConfig(raw);
      if (result.ok) throw new Error("expected a refusal");
      return result.label;
    };
    expect(refused({ label: " ai-task ", agent: "gemini" })).toBe("ai-task");
    expect(refused({ agent: "gemini" })).toBe("drover");
    expect(refused({ label: 5 })).toBe("drover");
    expect(refused({ label: "   ", agent: "gemini" })).toBe("drover");
    expect(refused(["a list"])).toBe("drover");
  });
});

describe("renderConfigProblems", () => {
  it("names each key, the value found and how to fix the file", () => {
    const result = parseConfig({ agent: "gemini", task_timeout: "soon", agent_args: "--fast" });
    const text = renderConfigProblems(problems(result), ".github/drover.yml");
    expect(text).toContain("`.github/drover.yml` is not valid");
    expect(text).toMatch(/- `agent` \(got `"gemini"`\): .*"claude"/);
    expect(text).toMatch(/- `task_timeout` \(got `"soon"`\): expected a duration such as 90s, 30m or 2h/);
    expect(text).toMatch(/- `agent_args` \(got `"--fast"`\): /);
    expect(text).toContain("Fix the file on the default branch, then remove and add the label again");
  });

  it("names a not-yet-supported key, its value and that it should go", () => {
    const text = renderConfigProblems(problems(parseConfig({ max_file_size: "1MB" })), ".github/drover.yml");
    expect(text).toContain(
      '- `max_file_size` (got `"1MB"`): is not supported yet: the prompt shows no files (the agent reads them in its worktree). Remove it',
    );
  });

  it("leaves out the value when the key is missing rather than printing undefined", () => {
    const text = renderConfigProblems(problems(parseConfig({ agent: "command" })), ".github/drover.yml");
    expect(text).toMatch(/- `agent_command`: is required/);
    expect(text).not.toContain("undefined");
  });
});
