import { z } from "zod";
import { notifyTargets } from "./notify.ts";
import { parseDuration, parseSize } from "./units.ts";

/** Where drover.yml lives in a repository (and in the org's `.github` repository for `_extends`). */
export const CONFIG_PATH = ".github/drover.yml";

/** The label that makes an issue a task, unless drover.yml names another. */
export const DEFAULT_LABEL = "drover";

const duration = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === null) {
        ctx.addIssue({ code: "custom", message: "expected a duration such as 90s, 30m or 2h" });
        return z.NEVER;
      }
      return ms;
    });

const size = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((value, ctx) => {
      const bytes = parseSize(value);
      if (bytes === null) {
        ctx.addIssue({ code: "custom", message: "expected a size such as 100KB or 1MB" });
        return z.NEVER;
      }
      return bytes;
    });

/**
 * `setup`: a shell command (`npm ci`), or `{ run: npm ci, timeout: 20m }`; read as `{ command, timeoutMs }`.
 */
const setup = z
  .union(
    [
      z.string().trim().min(1, { error: "is empty; give a shell command, e.g. setup: npm ci" }),
      z
        .object({
          run: z.string().trim().min(1, { error: "is empty; give a shell command, e.g. run: npm ci" }),
          timeout: z.union([z.string(), z.number()]).optional(),
        })
        .strict(),
    ],
    { error: "expected a shell command, e.g. setup: npm ci, or { run: npm ci, timeout: 20m }" },
  )
  .transform((value, ctx): SetupCommand => {
    if (typeof value === "string") return { command: value, timeoutMs: DEFAULT_SETUP_TIMEOUT_MS };
    if (value.timeout === undefined) return { command: value.run, timeoutMs: DEFAULT_SETUP_TIMEOUT_MS };
    const timeoutMs = parseDuration(value.timeout);
    if (timeoutMs === null) {
      ctx.addIssue({ code: "custom", path: ["timeout"], message: "expected a duration such as 90s or 20m" });
      return z.NEVER;
    }
    return { command: value.run, timeoutMs };
  });

/** The repository's install step, as drover.yml's `setup` is read. */
export type SetupCommand = { command: string; timeoutMs: number };

/** How long `setup` may run unless it says otherwise. */
export const DEFAULT_SETUP_TIMEOUT_MS = 20 * 60_000;

/** `pool`: ready worktrees kept per repository on each worker machine. */
const pool = z
  .object({
    min: z.number().int().min(0).max(16).optional(),
    max: z.number().int().min(1).max(32).optional(),
  })
  .strict()
  .optional()
  .transform((value, ctx): PoolBounds => {
    const min = value?.min ?? DEFAULT_POOL.min;
    const max = value?.max ?? Math.max(min, DEFAULT_POOL.max);
    if (min > max) {
      ctx.addIssue({
        code: "custom",
        message: `min (${min}) is above max (${max}); e.g. pool: { min: 1, max: 3 }`,
      });
      return z.NEVER;
    }
    return { min, max };
  });

/**
 * `min`: worktrees kept ready (checked out at the base branch's head, `setup` run) for tasks to start in at
 * once; `max`: ready worktrees kept at most, idle ones past it are removed when an attempt hands one back.
 */
export type PoolBounds = { min: number; max: number };

export const DEFAULT_POOL: PoolBounds = { min: 1, max: 3 };

/** `budget`: a time (`2h`), or `{ time: 2h, cost_usd: 5 }`; over all of a task's attempts. */
const budget = z
  .union([
    z.string(),
    z.number(),
    z
      .object({
        time: z.union([z.string(), z.number()]).optional(),
        cost_usd: z.number().positive().optional(),
      })
      .strict(),
  ])
  .optional()
  .transform((value, ctx): { timeMs?: number; costUsd?: number } | undefined => {
    if (value === undefined) return undefined;
    const spec = typeof value === "object" ? value : { time: value };
    const out: { timeMs?: number; costUsd?: number } = {};
    if (spec.time !== undefined) {
      const ms = parseDuration(spec.time);
      if (ms === null) {
        ctx.addIssue({
          code: "custom",
          path: typeof value === "object" ? ["time"] : [],
          message: "expected a duration such as 45m or 2h, or { time: 2h, cost_usd: 5 }",
        });
        return z.NEVER;
      }
      out.timeMs = ms;
    }
    if (typeof value === "object" && value.cost_usd !== undefined) out.costUsd = value.cost_usd;
    return out;
  });

/** A check: a shell command, or `{ run: command, timeout: 5m }`. */
const check = z.union([
  z.string().trim().min(1),
  z
    .object({
      run: z.string().trim().min(1),
      timeout: z
        .union([z.string(), z.number()])
        .optional()
        .refine((value) => value === undefined || parseDuration(value) !== null, {
          message: "expected a duration such as 90s or 5m",
        }),
    })
    .strict(),
]);

const argv = z.union([z.string().min(1), z.array(z.string()).min(1)]);

/** The adapters in src/agent/adapters (a unit test keeps the two lists equal). */
export const AGENTS = ["claude", "codex", "amp", "opencode", "command"] as const;
export type AgentName = (typeof AGENTS)[number];

const AGENT_CHOICES = AGENTS.map((name) => JSON.stringify(name)).join(", ");

function isAgentName(name: string): name is AgentName {
  return (AGENTS as readonly string[]).includes(name);
}

/** `agent`: one name, or a failover list (`[claude, codex]`), read as a list either way. */
const agents = z
  .union([z.string(), z.array(z.string())], {
    error: `expected an agent name or a list of them (failover), e.g. claude or [claude, codex]; agents are ${AGENT_CHOICES}`,
  })
  .default("claude")
  .transform((value, ctx): AgentName[] => {
    const names = typeof value === "string" ? [value] : value;
    if (names.length === 0) {
      ctx.addIssue({ code: "custom", message: "lists no agent; name at least one, e.g. agent: claude" });
      return z.NEVER;
    }
    names.forEach((name, index) => {
      const path = typeof value === "string" ? [] : [index];
      if (!isAgentName(name)) {
        ctx.addIssue({
          code: "custom",
          path,
          message: `${JSON.stringify(name)} is not an agent Drover knows; expected one of ${AGENT_CHOICES}`,
        });
      } else if (names.indexOf(name) !== index) {
        ctx.addIssue({ code: "custom", path, message: `lists ${name} twice` });
      }
    });
    return names as AgentName[];
  });

/**
 * A key Drover does not act on yet. A file that sets it is refused with what Drover does instead, because
 * a key accepted and ignored tells its writer it works. Never in the parsed config.
 */
function notSupportedYet(instead: string) {
  return z
    .unknown()
    .superRefine((_, ctx) => {
      ctx.addIssue({ code: "custom", message: `is not supported yet: ${instead}. Remove it` });
    })
    .optional();
}

/**
 * The keys of the design that nothing reads yet, each with what Drover does instead. When a capability
 * makes one work, it moves into `DroverConfig` with its own schema, default and doc comment.
 */
const NOT_SUPPORTED_YET = {
  max_diff_size: notSupportedYet(
    "the prompt shows a blocker's diff stat and the `git diff` command for its changes, never the patch itself",
  ),
  max_file_size: notSupportedYet("the prompt shows no files (the agent reads them in its worktree)"),
};

/**
 * `.github/drover.yml`. Every key is optional; defaults are safe. Unknown keys are refused, because a
 * misspelt key silently ignored is a config nobody meant; so are the keys Drover does not act on yet.
 */
export const DroverConfig = z
  .object({
    /** The label that makes an issue a task. [drover] */
    label: z.string().trim().min(1).max(50).default(DEFAULT_LABEL),
    /**
     * Which agent runs tasks, or a failover list: an attempt whose agent is unavailable or rate-limited is
     * followed by one with the next agent (see `agentForAttempt`). Read as a list. [claude]
     */
    agent: agents,
    /**
     * The program for `agent: command`, as an argv list or a string split like a shell would (no expansion).
     * `{prompt_file}` names the prompt file. With one other agent, that agent's program (e.g. its path).
     */
    agent_command: argv.optional(),
    /** Extra arguments appended to the agent's command line; only with a single agent. */
    agent_args: z.array(z.string()).default([]),
    /** Branch the task branches start from and PRs target. [the repository's default branch] */
    base_branch: z.string().trim().min(1).optional(),
    /** How long one agent run may take before it is stopped. [30m] */
    task_timeout: duration("30m"),
    /**
     * A run that prints nothing and changes no file in the worktree for this long is stopped and judged
     * unavailable (waiting on the network or a prompt), so a failover list moves on. [5m]
     */
    agent_idle_timeout: duration("5m").refine((ms) => ms >= 10_000, {
      message: "must be at least 10s: agents often think for a while before they print anything",
    }),
    /** Tasks of this repository running at once. [2] */
    max_workers: z.number().int().min(1).max(64).default(2),
    /** Attempts before a task is failed. [3] */
    max_attempts: z.number().int().min(1).max(20).default(3),
    /** Recent completed tasks shown to the agent. [5] */
    task_context_count: z.number().int().min(0).max(50).default(5),
    /**
     * The issue's description and comments together, and any one other text, shown in the prompt whole; past
     * it an excerpt and where to read the rest. [250KB]
     */
    max_description_size: size("250KB"),
    /** Project guidelines given to the agent first. */
    guidelines: z.string().optional(),
    /** Commands run in the worktree after the agent, each must pass (`{ run, timeout }` for its own limit). */
    checks: z.array(check).default([]),
    /** How long each check may run. [10m] */
    check_timeout: duration("10m"),
    /** The first retry of a failed attempt waits about this long; each later one twice as long. [1m] */
    retry_delay: duration("1m"),
    /** Open pull requests as drafts. [false] */
    draft_prs: z.boolean().default(false),
    /**
     * What a task may spend over all its attempts: agent time (`2h`), and cost where the agent reports it
     * (`{ time: 2h, cost_usd: 5 }`). Reaching it stops the agent, keeps its partial work, and ends retries.
     */
    budget,
    /**
     * Turn on GitHub's auto-merge on each Drover pull request (it merges once required checks and reviews
     * pass, under branch protection); where GitHub refuses it, Drover merges once its check run passed and
     * no review asks for changes. [false]
     */
    auto_merge: z.boolean().default(false),
    /** Labels put on every Drover pull request. [] */
    default_labels: z.array(z.string().trim().min(1).max(50)).max(20).default([]),
    /** Rounds of "changes requested" reviews Drover reworks a pull request for; then it says it stops. [3] */
    max_reworks: z.number().int().min(0).max(20).default(3),
    /**
     * When the base branch moves, which of Drover's open pull requests on it are brought up to date (a merge
     * commit from the base, checked again): `conflicts`, only those that no longer merge cleanly (the agent
     * resolves the conflicts); `always`, every one behind the base as well. [conflicts]
     */
    update_branch: z
      .enum(["conflicts", "always"], { error: "expected conflicts or always" })
      .default("conflicts"),
    /**
     * Times the agent is asked to resolve a pull request's conflicts with its base before the task waits
     * for a person (`drover:conflict`; `/drover retry` asks again). [2]
     */
    max_conflict_attempts: z.number().int().min(0).max(10).default(2),
    /**
     * Stacked work: a task whose one unfinished blocker is a task of the same repository in review whose
     * latest attempt passed (every other blocker done) starts on that blocker's branch (src/scheduler/plan.ts);
     * its pull request targets that branch, is brought up to date by a merge when the blocker changes, and
     * goes into the base once the blocker merges (jobs/close-task.ts). Two such blockers: it waits. [false]
     */
    stack: z.boolean().default(false),
    /**
     * The repository's install step (`npm ci`, `uv sync`), run in each pooled worktree before any agent
     * needs it, and again only when a lockfile changes; package managers' download caches are shared by
     * the repository's runs. `{ run, timeout }` for its own limit. [none; timeout 20m]
     */
    setup: setup.optional(),
    /** Ready worktrees kept per repository on each worker machine: `{ min, max }`. [{ min: 1, max: 3 }] */
    pool,
    /**
     * Outgoing webhooks for this repository's task events: `[{ url, events?, format? }]`, https only; events
     * default to `DEFAULT_NOTIFY_EVENTS`, format to json (or slack, discord). See src/config/notify.ts. [[]]
     */
    notify: notifyTargets({ allowHttp: false }),
    ...NOT_SUPPORTED_YET,
  })
  .strict()
  .superRefine(
    (config, ctx) => {
      // Another key may have failed, so `agent` is not necessarily the parsed list here.
      const listed: unknown = config.agent;
      const names: unknown[] = Array.isArray(listed) ? listed : [listed];
      if (names.includes("command") && config.agent_command === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["agent_command"],
          message:
            'is required when agent is "command", e.g. agent_command: [node, scripts/agent.mjs, "{prompt_file}"]',
        });
      }
      if (names.length > 1) {
        // One agent's flags or program handed to another CLI would fail every failover attempt.
        if (config.agent_command !== undefined && !names.includes("command")) {
          ctx.addIssue({
            code: "custom",
            path: ["agent_command"],
            message:
              "names one program, so with several agents it is only for command; put the other agents' CLIs on the worker's PATH",
          });
        }
        if (Array.isArray(config.agent_args) && config.agent_args.length > 0) {
          ctx.addIssue({
            code: "custom",
            path: ["agent_args"],
            message: "are for one agent's CLI; with several agents (failover) leave them out",
          });
        }
      }
    },
    // Also when another key is wrong, so one edit fixes every problem the file has.
    { when: (payload) => typeof payload.value === "object" && payload.value !== null },
  )
  .transform((config) =>
    withoutKeys(config, Object.keys(NOT_SUPPORTED_YET) as (keyof typeof NOT_SUPPORTED_YET)[]),
  );

export type DroverConfig = z.infer<typeof DroverConfig>;

/** The checks as commands with their limits (a check's own `timeout`, else `check_timeout`). */
export function checkCommands(config: DroverConfig): { command: string; timeoutMs: number }[] {
  return config.checks.map((entry) => {
    if (typeof entry === "string") return { command: entry, timeoutMs: config.check_timeout };
    const own = entry.timeout === undefined ? null : parseDuration(entry.timeout);
    return { command: entry.run, timeoutMs: own ?? config.check_timeout };
  });
}

function withoutKeys<T extends object, K extends keyof T>(object: T, keys: readonly K[]): Omit<T, K> {
  const copy = { ...object };
  for (const key of keys) delete copy[key];
  return copy;
}
