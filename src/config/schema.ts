import { z } from "zod";
import { parseDuration, parseSize } from "./units.ts";

/** Where drover.yml lives in a repository (and in the org's `.github` repository for `_extends`). */
export const CONFIG_PATH = ".github/drover.yml";

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

const argv = z.union([z.string().min(1), z.array(z.string()).min(1)]);

export const AGENTS = ["claude", "command"] as const;

/**
 * `.github/drover.yml`. Every key is optional; defaults are safe. Keys that later capabilities read are
 * accepted now so that a file written from the docs is never refused; unknown keys are refused, because a
 * misspelt key silently ignored is a config nobody meant.
 */
export const DroverConfig = z
  .object({
    /** The label that makes an issue a task. [drover] */
    label: z.string().trim().min(1).max(50).default("drover"),
    /** Which agent runs tasks. [claude] */
    agent: z.enum(AGENTS).default("claude"),
    /** The program for `agent: command`, as an argv list or a string split like a shell would (no expansion). `{prompt_file}` names the prompt file. */
    agent_command: argv.optional(),
    /** Extra arguments appended to the agent's command line. */
    agent_args: z.array(z.string()).default([]),
    /** Branch the task branches start from and PRs target. [the repository's default branch] */
    base_branch: z.string().trim().min(1).optional(),
    /** How long one agent run may take before it is stopped. [30m] */
    task_timeout: duration("30m"),
    /** Tasks of this repository running at once. [2] */
    max_workers: z.number().int().min(1).max(64).default(2),
    /** Attempts before a task is failed. [3] */
    max_attempts: z.number().int().min(1).max(20).default(3),
    /** Recent completed tasks shown to the agent. [5] */
    task_context_count: z.number().int().min(0).max(50).default(5),
    max_description_size: size("250KB"),
    max_diff_size: size("250KB"),
    max_file_size: size("100KB"),
    /** Project guidelines given to the agent first. */
    guidelines: z.string().optional(),
    /** Labels added to Drover's pull requests. */
    default_labels: z.array(z.string()).default([]),
    /** Commands run in the worktree after the agent, each must pass. */
    checks: z.array(z.string()).default([]),
    /** Install command for warm worktrees. */
    setup: z.string().optional(),
    /** Open pull requests as drafts. [false] */
    draft_prs: z.boolean().default(false),
    /** Merge passing pull requests automatically. [false] */
    auto_merge: z.boolean().default(false),
    /** Time budget per task. */
    budget: z.union([z.string(), z.number()]).optional(),
    /** Outgoing webhooks. */
    notify: z.array(z.object({ url: z.url() }).loose()).default([]),
  })
  .strict()
  .superRefine(
    (config, ctx) => {
      if (config.agent === "command" && config.agent_command === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["agent_command"],
          message:
            'is required when agent is "command", e.g. agent_command: [node, scripts/agent.mjs, "{prompt_file}"]',
        });
      }
    },
    // Also when another key is wrong, so one edit fixes every problem the file has.
    { when: (payload) => typeof payload.value === "object" && payload.value !== null },
  );

export type DroverConfig = z.infer<typeof DroverConfig>;
