import { z } from "zod";
import { parseDuration } from "./units.ts";
import { NOTIFY_FORMATS } from "./notify.ts";
import { AGENTS, DroverConfig } from "./schema.ts";

/**
 * drover.yml as a task recorded it: the *parsed* `DroverConfig` of its day (durations in ms, sizes in
 * bytes, `agent` a list), read back from PostgreSQL. Not the input schema again: a duration stored as
 * 1800000 (ms) would be read as that many seconds. Configs written by older versions are read too:
 * keys the current schema no longer has are dropped, keys added since take their defaults, and shapes
 * that changed (`agent` once one name, `budget` once the text of the file) are brought up to date.
 */

/** The defaults, from the one place they are defined. */
const DEFAULTS = DroverConfig.parse({});

const ms = (fallback: number) => z.number().positive().default(fallback);
const count = (fallback: number) => z.number().int().nonnegative().default(fallback);

const agentName = z.enum(AGENTS);

/** `budget` as stored now (`{ timeMs, costUsd }`), or as drover.yml said it before it was parsed. */
const storedBudget = z
  .union([
    z.object({ timeMs: z.number().positive().optional(), costUsd: z.number().positive().optional() }),
    z.string(),
    z.number(),
  ])
  .optional()
  .transform((value, ctx): { timeMs?: number; costUsd?: number } | undefined => {
    if (value === undefined || typeof value === "object") {
      if (value === undefined) return undefined;
      // Only the keys that are there: under exactOptionalPropertyTypes an absent limit is not `undefined`.
      return {
        ...(value.timeMs === undefined ? {} : { timeMs: value.timeMs }),
        ...(value.costUsd === undefined ? {} : { costUsd: value.costUsd }),
      };
    }
    const timeMs = parseDuration(value);
    if (timeMs === null) {
      ctx.addIssue({ code: "custom", message: `budget ${JSON.stringify(value)} is not a duration` });
      return z.NEVER;
    }
    return { timeMs };
  });

/**
 * One schema per key of `DroverConfig`, checked against it: a key added to drover.yml without a way to
 * read it back here, or one removed from drover.yml but still read here, fails to compile.
 */
const fields = {
  label: z.string().default(DEFAULTS.label),
  agent: z
    .union([agentName, z.array(agentName).min(1)])
    .default(DEFAULTS.agent)
    .transform((value) => (typeof value === "string" ? [value] : value)),
  agent_command: z.union([z.string(), z.array(z.string())]).optional(),
  agent_args: z.array(z.string()).default(DEFAULTS.agent_args),
  base_branch: z.string().optional(),
  task_timeout: ms(DEFAULTS.task_timeout),
  agent_idle_timeout: ms(DEFAULTS.agent_idle_timeout),
  max_workers: count(DEFAULTS.max_workers),
  max_attempts: count(DEFAULTS.max_attempts),
  task_context_count: count(DEFAULTS.task_context_count),
  max_description_size: count(DEFAULTS.max_description_size),
  guidelines: z.string().optional(),
  checks: z
    .array(
      z.union([
        z.string(),
        z.object({ run: z.string(), timeout: z.union([z.string(), z.number()]).optional() }),
      ]),
    )
    .default(DEFAULTS.checks),
  check_timeout: ms(DEFAULTS.check_timeout),
  retry_delay: ms(DEFAULTS.retry_delay),
  draft_prs: z.boolean().default(DEFAULTS.draft_prs),
  budget: storedBudget,
  auto_merge: z.boolean().default(DEFAULTS.auto_merge),
  default_labels: z.array(z.string()).default(DEFAULTS.default_labels),
  max_reworks: count(DEFAULTS.max_reworks),
  update_branch: z.enum(["conflicts", "always"]).default(DEFAULTS.update_branch),
  max_conflict_attempts: count(DEFAULTS.max_conflict_attempts),
  stack: z.boolean().default(DEFAULTS.stack),
  setup: z.object({ command: z.string(), timeoutMs: z.number().positive() }).optional(),
  pool: z
    .object({ min: z.number().int().nonnegative(), max: z.number().int().positive() })
    .default(DEFAULTS.pool),
  notify: z
    .array(
      z.object({
        url: z.string(),
        events: z.array(z.string()),
        format: z.enum(NOTIFY_FORMATS),
      }),
    )
    .default(DEFAULTS.notify),
} satisfies { [K in keyof DroverConfig]-?: z.ZodType<DroverConfig[K], unknown> };

/** The stored shape; unknown keys (those older versions had) are dropped. */
const StoredConfig = z.object(fields);

/** What PostgreSQL holds as a task's config cannot be read: no try will read it better. */
export class UnreadableConfigError extends Error {
  override name = "UnreadableConfigError";
}

/**
 * A task's drover.yml as recorded when it was triggered. Throws UnreadableConfigError, naming the task,
 * when what PostgreSQL holds cannot be read as a config of this or an earlier version.
 */
export function taskConfig(task: { id: number; config: unknown }): DroverConfig {
  const parsed = StoredConfig.safeParse(task.config);
  if (!parsed.success) {
    throw new UnreadableConfigError(
      `the drover.yml recorded with task ${task.id} cannot be read (${z.prettifyError(parsed.error).replaceAll("\n", "; ")}); remove and add the label to record it again`,
    );
  }
  return parsed.data;
}

/**
 * taskConfig, or the defaults when it cannot be read: for passes over many tasks (scheduling, reconcile),
 * where one unreadable row must not stop the others. Its own run reports it (run-task fails the attempt,
 * naming the task).
 */
export function taskConfigOrDefaults(task: { id: number; config: unknown }): DroverConfig {
  try {
    return taskConfig(task);
  } catch (error) {
    if (error instanceof UnreadableConfigError) return DEFAULTS;
    throw error;
  }
}
