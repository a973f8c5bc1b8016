import { formatDuration } from "./format-duration.ts";
import type { AgentVerdict } from "./verdict.ts";

import type { AgentOutcome } from "../db/run-results.ts";

export type { AgentOutcome };

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
  /** Why, for `spawn-failed`, `unavailable` and `rate-limited`. */
  error?: string | undefined;
  /** The agent said its run ended in an error (Claude Code's `is_error`, an OpenCode error event). */
  isError?: boolean | undefined;
  /** What the agent said went wrong. */
  agentError?: string | undefined;
  /** The agent that ran. */
  agent?: string | undefined;
  /** The agent the next attempt would use (`agentForAttempt`), when this one could not work. */
  nextAgent?: string | undefined;
}

export interface Judgement {
  /** The check run conclusion: `action_required` for a merge with the base left for a person. */
  conclusion: "success" | "failure" | "neutral" | "action_required";
  /**
   * The task state this attempt leads to (before retries are considered): `conflict` when it could not
   * merge its pull request's base (never retried).
   */
  state: "review" | "failed" | "blocked" | "cancelled" | "conflict";
  /** One line saying why, for the verdict comment and the check run title. */
  reason: string;
  /** What the agent said it did, or a stand-in when it said nothing usable. */
  summary: string;
  /**
   * Set when the agent could not work (unavailable, rate-limited) and another agent of the failover list
   * can take the next attempt: the agent to retry with. `state` stays `failed`; retrying (within
   * `max_attempts`) is the caller's decision.
   */
  failoverTo?: string;
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
    case "unavailable":
    case "rate-limited": {
      const fallback =
        input.outcome === "unavailable" ? "the agent is unavailable" : "the agent is rate-limited";
      const judgement = failed(
        input.error ?? fallback,
        input.outcome === "unavailable" ? "The agent could not run." : "The agent hit a usage or rate limit.",
      );
      const next = input.nextAgent;
      if (next === undefined || next === input.agent) return judgement;
      return { ...judgement, reason: `${judgement.reason}; the next attempt uses ${next}`, failoverTo: next };
    }
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
    return failed(`agent ${how}${errorSuffix(input.agentError)}`, summary("The agent failed."));
  }
  if (input.isError) {
    return failed(
      `the agent reported an error${errorSuffix(input.agentError)}`,
      summary("The agent failed."),
    );
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

/** The agent's own error, first line and short, to end a one-line reason with. */
function errorSuffix(error: string | undefined): string {
  const line = error?.trim().split("\n")[0]?.trim();
  if (!line) return "";
  return `: ${line.length <= 200 ? line : `${line.slice(0, 199)}…`}`;
}

function failed(reason: string, summary: string): Judgement {
  return { conclusion: "failure", state: "failed", reason, summary };
}

/** A repository check's result, as judged (see src/agent/checks.ts). */
export type CheckVerdict = {
  command: string;
  outcome: "passed" | "failed" | "timed-out" | "cancelled";
  exitCode: number | null;
};

/**
 * The final judgement: the agent's, then the repository's checks. A passing run whose checks do not all
 * pass fails, naming the first check that did not; any other judgement stands (the checks are shown).
 */
export function withChecks(judgement: Judgement, checks: readonly CheckVerdict[]): Judgement {
  if (judgement.state !== "review") return judgement;
  const bad = checks.filter((check) => check.outcome !== "passed");
  if (bad.length === 0) {
    return checks.length === 0
      ? judgement
      : {
          ...judgement,
          reason: `${judgement.reason}; ${checks.length === 1 ? "the check passed" : `all ${checks.length} checks passed`}`,
        };
  }
  const first = bad[0] as CheckVerdict;
  const how =
    first.outcome === "timed-out"
      ? "ran out of time"
      : first.outcome === "cancelled"
        ? "was cancelled"
        : `failed (exit ${first.exitCode ?? "unknown"})`;
  const more = bad.length > 1 ? ` and ${bad.length - 1} more` : "";
  return {
    ...judgement,
    conclusion: "failure",
    state: "failed",
    reason: `check \`${first.command}\` ${how}${more}`,
  };
}

/** What the agent itself said: its verdict block's status, or `unknown` when it gave none that could be read. */
export function agentWord(verdict: { status: string } | null): "pass" | "fail" | "blocked" | "unknown" {
  return verdict?.status === "pass" || verdict?.status === "fail" || verdict?.status === "blocked"
    ? verdict.status
    : "unknown";
}
