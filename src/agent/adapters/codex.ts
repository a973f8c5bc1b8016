import { z } from "zod";
import { classifyFailure, plainStdout, withPatterns } from "./classify-exit.ts";
import { hasFlag, programOf } from "./flags.ts";
import { addCounts, jsonLines } from "./json-lines.ts";
import type {
  AdapterBuildInput,
  AdapterInvocation,
  AgentAdapter,
  AgentReport,
  ClassifyInput,
  ExitClassification,
} from "./types.ts";

// `codex exec` per Codex CLI's non-interactive mode docs
// (https://github.com/openai/codex/blob/main/docs/exec.md,
// https://developers.openai.com/codex/noninteractive) and its JSONL event types (https://github.com/openai/codex/blob/main/codex-rs/exec/src/exec_events.rs).

const CodexEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("thread.started"), thread_id: z.string() }),
  z.object({
    type: z.literal("item.completed"),
    item: z.object({ type: z.string(), text: z.string().optional() }),
  }),
  z.object({
    type: z.literal("turn.completed"),
    usage: z.object({ input_tokens: z.number(), output_tokens: z.number() }).partial().optional(),
  }),
  z.object({
    type: z.literal("turn.failed"),
    error: z.object({ message: z.string() }).partial().optional(),
  }),
  z.object({ type: z.literal("error"), message: z.string().optional() }),
]);

/**
 * "You've hit your usage limit", "Quota exceeded. Check your plan and billing details", and
 * "exceeded retry limit, last status: 429 Too Many Requests" for limits; "401 Unauthorized" and
 * "Missing bearer or basic authentication" when it has no credentials (the common patterns cover these).
 */
const PATTERNS = withPatterns({
  unavailable: [/\b(?:CODEX|OPENAI)_API_KEY\b/],
});

/**
 * Codex CLI in exec mode: the prompt on stdin (`-`), JSON Lines events on stdout.
 *
 * `--sandbox workspace-write` lets it edit the worktree and run commands there while Codex's own
 * sandbox keeps it from writing elsewhere or using the network; exec mode never asks for approvals.
 * It is the sandbox `--full-auto` selects ("Use `codex exec --full-auto` to allow file edits"),
 * spelled out so that a repo's own choice can replace it. A repo that needs more (network access, or a
 * container where Codex's Landlock sandbox cannot start) sets its own `--sandbox` in agent_args, which
 * then replaces ours. Drover does not default to `--dangerously-bypass-approvals-and-sandbox`, for the
 * reason given on the claude adapter.
 *
 * `--skip-git-repo-check`: the worktree is a git checkout Drover made, so Codex's guard against
 * editing outside version control adds nothing and must not refuse a linked worktree.
 */
export const codexAdapter: AgentAdapter = {
  name: "codex",
  installHint: "install Codex CLI on the worker (npm i -g @openai/codex) or set agent_command to its path",
  authHint: "pass CODEX_API_KEY to agents with DROVER_AGENT_ENV, or run `codex login` as the worker's user",
  build(input: AdapterBuildInput): AdapterInvocation {
    const [file, prefix] = programOf(input.agentCommand, "codex");
    const own = input.agentArgs;
    const choosesSandbox =
      hasFlag(
        own,
        "--sandbox",
        "-s",
        "--full-auto",
        "--dangerously-bypass-approvals-and-sandbox",
        "--yolo",
      ) || own.some((arg) => arg.startsWith("sandbox_mode="));
    const args = [
      ...prefix,
      "exec",
      ...(hasFlag(own, "--json") ? [] : ["--json"]),
      ...(choosesSandbox ? [] : ["--sandbox", "workspace-write"]),
      ...(hasFlag(own, "--skip-git-repo-check") ? [] : ["--skip-git-repo-check"]),
      ...own,
      // "If not provided as an argument (or if `-` is used), instructions are read from stdin."
      "-",
    ];
    return { file, args, stdin: input.prompt };
  },
  parse(stdout: string): AgentReport {
    const events = jsonLines(stdout);
    if (events.length === 0) return { finalMessage: stdout };

    let message: string | undefined;
    let sessionId: string | undefined;
    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    let completed = false;
    let turnError: string | undefined;
    let streamError: string | undefined;
    for (const line of events) {
      const parsed = CodexEvent.safeParse(line);
      if (!parsed.success) continue;
      const event = parsed.data;
      switch (event.type) {
        case "thread.started":
          sessionId = event.thread_id;
          break;
        case "item.completed":
          // The last agent_message is the answer ("Typically, an agent_message is added at the end of
          // the turn").
          if (event.item.type === "agent_message" && event.item.text !== undefined) message = event.item.text;
          break;
        case "turn.completed":
          completed = true;
          // Usage is per turn; `input_tokens` already includes `cached_input_tokens`.
          inputTokens = addCounts(inputTokens, event.usage?.input_tokens);
          outputTokens = addCounts(outputTokens, event.usage?.output_tokens);
          break;
        case "turn.failed":
          turnError = event.error?.message ?? "Codex reported a failed turn";
          break;
        case "error":
          // Also sent for retries it recovers from ("Reconnecting... 2/5"), so it only counts when no
          // turn completed.
          streamError = event.message ?? streamError;
          break;
      }
    }

    // No turns: a Codex "turn" is the whole prompt-to-answer exchange, always one in exec mode, so it is
    // not comparable with Claude Code's num_turns and is left out.
    const report: AgentReport = { finalMessage: message ?? "" };
    if (sessionId !== undefined) report.sessionId = sessionId;
    if (inputTokens !== undefined) report.inputTokens = inputTokens;
    if (outputTokens !== undefined) report.outputTokens = outputTokens;
    const error = turnError ?? (completed ? undefined : streamError);
    if (error !== undefined) {
      report.isError = true;
      report.error = error;
    } else if (completed) {
      report.isError = false;
    }
    return report;
  },
  classify(run: ClassifyInput): ExitClassification {
    if (run.exitCode === 0 && run.report.isError !== true) return { exit: "ok" };
    return classifyFailure([run.report.error, run.stderrTail, plainStdout(run.stdoutTail)], PATTERNS);
  },
};
