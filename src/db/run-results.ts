import { z } from "zod";

/**
 * What an agent run leaves behind, in the shapes Drover stores with its attempt (jsonb and text columns)
 * and reads back through these schemas. The agent code (src/agent) makes them; they are defined here, with
 * the tables that keep them, so the database layer never reaches up into the agent's.
 */

/** What the agent says about its own work, in the fenced `drover-verdict` block that ends its output. */
export const AgentVerdict = z.object({
  status: z.enum(["pass", "fail", "blocked"]),
  summary: z.string(),
  blocker: z.string().optional(),
});
export type AgentVerdict = z.infer<typeof AgentVerdict>;

/** One check's result, as it is stored with the attempt. */
export const CheckResult = z.object({
  command: z.string(),
  outcome: z.enum(["passed", "failed", "timed-out", "cancelled"]),
  exitCode: z.number().int().nullable(),
  durationMs: z.number(),
  /** The end of its stdout and stderr, interleaved. */
  outputTail: z.string(),
});
export type CheckResult = z.infer<typeof CheckResult>;

/**
 * How an agent run ended. `unavailable` (its program is missing, it is not logged in, it has no credit)
 * and `rate-limited` (usage limits, HTTP 429, overloaded) are the agent's trouble, not the task's: a
 * failover list gives the next attempt to its next agent.
 */
export const AgentOutcomeSchema = z.enum([
  "exited",
  "timed-out",
  "cancelled",
  "spawn-failed",
  "unavailable",
  "rate-limited",
]);
export type AgentOutcome = z.infer<typeof AgentOutcomeSchema>;
