import { formatDuration } from "./format-duration.ts";
import type { AgentVerdict } from "./verdict.ts";

export type AgentOutcome = "exited" | "timed-out" | "cancelled" | "spawn-failed";

export interface JudgeInput {
  outcome: AgentOutcome;
  exitCode: number | null;
  /** The signal that ended the agent, when one did. */
  signal?: string | null | undefined;
  verdict: AgentVerdict | null;
  /** Why no verdict was read (from `parseVerdict`). */
  verdictProblem?: string | undefined;
  /** Whether the agent left any change in the worktree. */
  changed: boolean;
  timeoutMs: number;
  /** The spawn error, for `spawn-failed`. */
  error?: string | undefined;
}

export interface Judgement {
  /** The check run conclusion. */
  conclusion: "success" | "failure" | "neutral";
  /** The task state this attempt leads to (before retries are considered). */
  state: "review" | "failed" | "blocked" | "cancelled";
  /** One line saying why, for the verdict comment and the check run title. */
  reason: string;
  /** What the agent said it did, or a stand-in when it said nothing usable. */
  summary: string;
}

/**
 * Combines the agent's exit, its own verdict and whether it changed anything into one judgement.
 * Repository `checks` are run and combined by the caller; this only judges the agent run.
 */
export function judge(input: JudgeInput): Judgement {
  const said = input.verdict?.summary.trim() || "";
  const summary = (fallback: string): string => said || fallback;

  switch (input.outcome) {
    case "spawn-failed":
      return failed(
        `agent could not start: ${input.error ?? "unknown error"}`,
        summary("The agent did not run."),
      );
    case "timed-out":
      return failed(
        `agent timed out after ${formatDuration(input.timeoutMs)}`,
        summary("The agent ran out of time."),
      );
    case "cancelled":
      return {
        conclusion: "neutral",
        state: "cancelled",
        reason: "cancelled",
        summary: summary("The run was cancelled."),
      };
    case "exited":
      break;
  }

  if (input.exitCode !== 0) {
    const how =
      input.exitCode === null && input.signal
        ? `was killed by ${input.signal}`
        : `exited with code ${input.exitCode ?? "unknown"}`;
    return failed(`agent ${how}`, summary("The agent failed."));
  }

  if (input.verdict?.status === "blocked") {
    const blocker = input.verdict.blocker?.trim();
    return {
      conclusion: "neutral",
      state: "blocked",
      reason: blocker ? `the agent is blocked: "${blocker}"` : "the agent is blocked (it gave no reason)",
      summary: summary("The agent could not proceed."),
    };
  }
  if (input.verdict?.status === "fail") {
    return failed("the agent reported failure", summary("The agent could not complete the task."));
  }
  if (!input.changed) {
    return failed("the agent changed nothing", summary("The agent made no changes."));
  }
  if (input.verdict?.status === "pass") {
    return {
      conclusion: "success",
      state: "review",
      reason: "the agent reported success",
      summary: said || "Done.",
    };
  }
  const problem = input.verdictProblem ? ` (${input.verdictProblem})` : "";
  return {
    conclusion: "success",
    state: "review",
    reason: `no verdict block: judged by exit status and changes${problem}`,
    summary: "The agent exited cleanly with changes but gave no verdict.",
  };
}

function failed(reason: string, summary: string): Judgement {
  return { conclusion: "failure", state: "failed", reason, summary };
}
