export interface AdapterBuildInput {
  prompt: string;
  /** Absolute path of the prompt file (outside the worktree). */
  promptFile: string;
  /** `agent_command` from drover.yml, as argv. */
  agentCommand?: readonly string[] | undefined;
  /** `agent_args` from drover.yml, appended to the adapter's own arguments. */
  agentArgs: readonly string[];
}

export interface AdapterInvocation {
  file: string;
  args: string[];
  /** Written to the agent's stdin, then stdin is closed (unless `live`: then when the agent is done). */
  stdin: string;
  /**
   * For a CLI that reads messages while it runs (Claude Code's streaming JSON input): stdin stays open
   * after the prompt, so people's hints reach the running agent; it is closed once the agent has answered
   * every message written.
   */
  live?: LiveInput;
  /**
   * Variables the CLI is started with beneath the agent environment (which wins): its retry knobs, no
   * auto-update, no telemetry.
   */
  env?: Record<string, string>;
}

export interface LiveInput {
  /** One message to the running agent, as written to its stdin. */
  message(text: string): string;
  /** True for a line of its stdout that ends its answer to one message. */
  endsTurn(line: string): boolean;
}

export interface AgentReport {
  /** The agent's last message, where the drover-verdict block is looked for. */
  finalMessage: string;
  costUsd?: number;
  turns?: number;
  sessionId?: string;
  /**
   * Tokens the model read over the whole run, cached or not (Anthropic-style counts add cache reads and
   * writes to `input_tokens`; OpenAI-style counts already include them).
   */
  inputTokens?: number;
  /** Tokens the model wrote over the whole run, reasoning included. */
  outputTokens?: number;
  /** The agent reported an error of its own (e.g. Claude Code's `is_error`). */
  isError?: boolean;
  /** What the agent said went wrong, when it said (Claude Code's error result, Codex's `turn.failed`). */
  error?: string;
}

/**
 * How a finished agent process ended, as its CLI tells it: `unavailable` (not installed, not logged in,
 * no credit) and `rate-limited` (usage limits, HTTP 429, overloaded) say nothing about the task, so a
 * failover list moves on to its next agent.
 */
export type AgentExit = "ok" | "failed" | "unavailable" | "rate-limited";

export interface ExitClassification {
  exit: AgentExit;
  /** The line that told, for `unavailable` and `rate-limited`. */
  detail?: string;
}

export interface ClassifyInput {
  exitCode: number | null;
  /** The end of stdout (what `parse` read). */
  stdoutTail: string;
  /** The end of stderr. */
  stderrTail: string;
  report: AgentReport;
}

/** One coding-agent CLI: how to start it, how to read what it printed and how it ended. */
export interface AgentAdapter {
  name: string;
  /** Said when the program is not found, e.g. how to install it. */
  installHint?: string;
  /**
   * Said when the agent is not logged in or has no key: exactly which variables (DROVER_AGENT_ENV) or
   * credential files (DROVER_AGENT_CREDENTIALS) serve this CLI headless.
   */
  authHint?: string;
  /**
   * Directories under the run's HOME where the CLI keeps caches (downloaded packages, model lists), shared
   * by every run of this agent on the worker (DROVER_HOME/agent-cache/<name>). Never one holding
   * credentials or a session.
   */
  cacheDirs?: readonly string[];
  /**
   * A line the CLI printed (stdout or stderr) that says it will not finish by itself: waiting for a
   * network that is not there, asking someone to log in, credentials refused (before its own retries).
   * The run is ended at once and judged unavailable, with the returned text as the reason. Lines end at
   * "\n" or "\r" (a redrawn status line), are cut at 4096 characters, and an unfinished line left quiet
   * for a second (a prompt waiting for an answer) is given too: a JSON line may arrive partial.
   */
  stuck?(line: string): string | undefined;
  build(input: AdapterBuildInput): AdapterInvocation;
  /** Reads the tail of stdout the runner kept. Never throws. */
  parse(stdout: string): AgentReport;
  /** Maps a process that exited (not one stopped by a timeout or cancel) to how it ended. Never throws. */
  classify(run: ClassifyInput): ExitClassification;
}
