import { z } from "zod";
import { AgentOutcomeSchema, AgentVerdict, CheckResult, type AgentOutcome } from "./run-results.ts";
import type { attempts } from "./schema.ts";

/** An attempt as it is read back: what PostgreSQL holds as JSON, parsed with the schema it was written by. */

export { AgentOutcomeSchema };

/** What an attempt's run came to, as recorded when it is concluded (and in its `judged` step). */
/**
 * Where an attempt's time went, in ms: `waiting` from the attempt being queued to a worker taking it,
 * `worktree` to a worktree on the task's commit (a pooled one claimed, or one made), `setup` for the
 * repository's install step when it had to run, then `agent`, `checks`, `push`. A phase the attempt did not
 * reach is absent.
 */
export const AttemptTimings = z
  .object({
    waitingMs: z.number().int().nonnegative(),
    worktreeMs: z.number().int().nonnegative(),
    setupMs: z.number().int().nonnegative(),
    agentMs: z.number().int().nonnegative(),
    checksMs: z.number().int().nonnegative(),
    pushMs: z.number().int().nonnegative(),
  })
  .partial();
export type AttemptTimings = z.infer<typeof AttemptTimings>;

export const AttemptOutcome = z
  .object({
    conclusion: z.string().nullable(),
    verdict: AgentVerdict.nullable(),
    reason: z.string().nullable(),
    summary: z.string().nullable(),
    logTail: z.string().nullable(),
    baseSha: z.string().nullable(),
    headSha: z.string().nullable(),
    diffStat: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    costUsd: z.string().nullable(),
    turns: z.number().int().nullable(),
    agent: z.string().nullable(),
    agentOutcome: AgentOutcomeSchema.nullable(),
    inputTokens: z.number().int().nullable(),
    outputTokens: z.number().int().nullable(),
    sessionId: z.string().nullable(),
    checks: z.array(CheckResult).nullable(),
    verdictProblem: z.string().nullable(),
    timings: AttemptTimings.nullable(),
  })
  .partial();
export type AttemptOutcome = z.infer<typeof AttemptOutcome>;

type AttemptRow = typeof attempts.$inferSelect;

/** An attempt, with what its JSON columns hold read through their schemas. */
export type Attempt = Omit<AttemptRow, "verdict" | "checks" | "agentOutcome" | "timings"> & {
  verdict: AgentVerdict | null;
  timings: AttemptTimings | null;
  checks: CheckResult[] | null;
  agentOutcome: AgentOutcome | null;
};

/** Parses JSON PostgreSQL handed back; throws naming `what` when it is not what Drover wrote. */
export function readJson<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new Error(`${what} cannot be read: ${z.prettifyError(parsed.error).replaceAll("\n", "; ")}`);
}

export function readAttempt(row: AttemptRow): Attempt {
  const what = (column: string) => `the ${column} recorded with attempt ${row.id}`;
  return {
    ...row,
    verdict: readJson(AgentVerdict.nullable(), row.verdict, what("verdict")),
    checks: readJson(z.array(CheckResult).nullable(), row.checks, what("checks")),
    agentOutcome: readJson(AgentOutcomeSchema.nullable(), row.agentOutcome, what("agent outcome")),
    timings: readJson(AttemptTimings.nullable(), row.timings, what("timings")),
  };
}
