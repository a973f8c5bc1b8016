import { z } from "zod";
import { SpawnedAgent } from "../../src/agent/orphans.ts";
import type { Judgement } from "../../src/agent/judge.ts";
import type { DroverConfig } from "../../src/config/schema.ts";
import { AttemptOutcome, type Attempt } from "../../src/db/attempt-record.ts";
import type { Lease } from "../../src/db/attempts.ts";
import type { Repository } from "../../src/db/repositories.ts";
import type { Task } from "../../src/db/tasks.ts";
import type { JobDeps } from "../deps.ts";

/** One attempt under this worker's lease: what every step of run-task works on. */
export type Run = {
  task: Task;
  attempt: Attempt;
  lease: Lease;
  repository: Repository;
  /** The drover.yml the task was triggered with. */
  config: DroverConfig;
  log: JobDeps["log"];
};

/**
 * What an attempt came to. `final`: no retry, whatever the policy says (the budget is spent). `stopped`:
 * a person stopped the task while it ran; the attempt ends without moving the task (their command did).
 */
export const Outcome = z.object({
  judgement: z.object({
    conclusion: z.enum(["success", "failure", "neutral", "action_required"]),
    state: z.enum(["review", "failed", "blocked", "cancelled", "conflict"]),
    reason: z.string(),
    summary: z.string(),
    failoverTo: z.string().exactOptional(),
  }) satisfies z.ZodType<Judgement>,
  fields: AttemptOutcome,
  final: z.boolean().exactOptional(),
  stopped: z.boolean().exactOptional(),
});
export type Outcome = z.infer<typeof Outcome>;

/** A failed outcome with `reason`, for an attempt that ends before (or without) its agent's run. */
export function failed(reason: string, extra: { summary?: string; final?: boolean } = {}): Outcome {
  return {
    judgement: { conclusion: "failure", state: "failed", reason, summary: extra.summary ?? "" },
    fields: {},
    ...(extra.final ? { final: true } : {}),
  };
}

/**
 * The steps run-task records, each read back through its schema. `judged` is recorded under the lease
 * before anything is pushed: a worker taking over after a crash concludes from it instead of running the
 * agent again and pushing a second commit.
 */
export const STEPS = {
  judged: {
    name: "judged",
    schema: z.object({ outcome: Outcome, push: z.object({ sha: z.string() }).nullable() }),
  },
  push: { name: "push", schema: z.object({ sha: z.string(), branch: z.string() }) },
  /**
   * A merge of the base into the task branch (an `update` or `conflict` attempt): the branch's head it
   * started from (`ours`, the pull request's head), the base's tip merged in (`theirs`), and the files
   * that conflicted. publish puts the check run of a merge left in conflict on `ours`.
   */
  merge: {
    name: "merge",
    schema: z.object({
      base: z.string(),
      ours: z.string(),
      theirs: z.string(),
      conflicted: z.array(z.string()),
    }),
  },
  /** Per lease epoch: the agent process that epoch's worker started. */
  agentProcess: (epoch: number) => ({ name: `agent-process-e${epoch}`, schema: SpawnedAgent }),
} as const;
export type Judged = z.infer<typeof STEPS.judged.schema>;
