import { z } from "zod";
import { classifyFailure, withPatterns } from "./classify-exit.ts";
import { addCounts, tryJson } from "./json-lines.ts";
import type {
  AdapterBuildInput,
  AdapterInvocation,
  AgentAdapter,
  AgentReport,
  ClassifyInput,
  ExitClassification,
  LiveInput,
} from "./types.ts";

// Flags and result fields per Claude Code's headless mode docs
// (https://docs.claude.com/en/docs/claude-code/headless,
// https://docs.claude.com/en/docs/claude-code/cli-reference).
const Usage = z.object({
  input_tokens: z.number().optional(),
  cache_creation_input_tokens: z.number().optional(),
  cache_read_input_tokens: z.number().optional(),
  output_tokens: z.number().optional(),
});

const ClaudeResult = z.object({
  type: z.literal("result"),
  subtype: z.string().optional(),
  result: z.string().optional(),
  is_error: z.boolean().optional(),
  num_turns: z.number().optional(),
  session_id: z.string().optional(),
  total_cost_usd: z.number().optional(),
  // Older releases named the cost field cost_usd.
  cost_usd: z.number().optional(),
  usage: Usage.optional(),
});
type ClaudeResult = z.infer<typeof ClaudeResult>;

/**
 * "Claude AI usage limit reached|<epoch>" on subscription plans, and API errors printed as
 * "API Error: 429 {...rate_limit_error...}" / "529 {...overloaded_error...}"; a rate-limited run may even
 * exit 0 with `is_error: true` (https://github.com/anthropics/claude-code/issues/79500), so the result's
 * own error flag counts as much as the exit status.
 */
const PATTERNS = withPatterns({
  unavailable: [/\/login\b/i, /ANTHROPIC_API_KEY/],
});

/**
 * Claude Code in print mode with streaming JSON input and output: the prompt is the first message on
 * stdin, and stdin stays open while it works, so a hint given meanwhile is another message it reads (it
 * answers messages in turn, each answer ending with a `result` line; Drover closes stdin once every message
 * is answered, and the CLI exits). With formats of its own in `agent_args`: the prompt on stdin, one JSON
 * result object on stdout.
 *
 * Permissions: `acceptEdits` lets it edit files in the worktree unattended while Bash and other tools
 * stay denied (print mode cannot ask). We do not default to `--dangerously-skip-permissions`: the
 * worker is not a sandbox, and Drover runs the repository's `checks` itself after the agent. A repo
 * that wants more grants it in `agent_args` (`--allowedTools "Bash(npm test:*)"`, or its own
 * `--permission-mode`, which then replaces ours).
 */
export const claudeAdapter: AgentAdapter = {
  name: "claude",
  installHint:
    "install Claude Code on the worker (npm i -g @anthropic-ai/claude-code) or set agent_command to its path",
  authHint:
    "pass ANTHROPIC_API_KEY to agents with DROVER_AGENT_ENV, or log in with `claude` as the worker's user",
  build(input: AdapterBuildInput): AdapterInvocation {
    // agent_command, when set, names the claude program (e.g. an absolute path) and any leading args.
    const [file = "claude", ...prefix] = input.agentCommand?.length ? input.agentCommand : ["claude"];
    const choosesPermissions = input.agentArgs.some(
      (arg) =>
        arg === "--permission-mode" ||
        arg.startsWith("--permission-mode=") ||
        arg === "--dangerously-skip-permissions",
    );
    const permissions = choosesPermissions ? [] : ["--permission-mode", "acceptEdits"];
    // A repo that picks its own formats in agent_args gets the one-shot mode with them.
    const choosesFormats = input.agentArgs.some((arg) => /^--(input|output)-format(=|$)/.test(arg));
    if (choosesFormats) {
      const args = [...prefix, "-p", "--output-format", "json", ...permissions, ...input.agentArgs];
      return { file, args, stdin: input.prompt };
    }
    // Streaming JSON both ways: the prompt is the first user message, a hint given while it runs another
    // (stream-json output in print mode needs --verbose).
    const args = [
      ...prefix,
      "-p",
      "--input-format",
      "stream-json",
      "--output-format",
      "stream-json",
      "--verbose",
      ...permissions,
      ...input.agentArgs,
    ];
    return { file, args, stdin: userMessage(input.prompt), live: CLAUDE_LIVE };
  },
  parse(stdout: string): AgentReport {
    const results = findResults(stdout);
    const result = results[0];
    if (!result) return { finalMessage: stdout };
    // Streaming input: one result per message answered (the prompt, then each hint), newest first here.
    // The answers read in order, so the last verdict block given is the one that counts.
    const report: AgentReport = {
      finalMessage: [...results]
        .reverse()
        .map((one) => one.result ?? (one.subtype ? `Claude Code ended with ${one.subtype}` : ""))
        .filter(Boolean)
        .join("\n\n"),
    };
    const cost = result.total_cost_usd ?? result.cost_usd;
    if (cost !== undefined) report.costUsd = cost;
    if (result.num_turns !== undefined) report.turns = result.num_turns;
    if (result.session_id !== undefined) report.sessionId = result.session_id;
    const usage = result.usage;
    const input = addCounts(
      undefined,
      usage?.input_tokens,
      usage?.cache_creation_input_tokens,
      usage?.cache_read_input_tokens,
    );
    if (input !== undefined) report.inputTokens = input;
    if (usage?.output_tokens !== undefined) report.outputTokens = usage.output_tokens;
    if (result.is_error !== undefined) report.isError = result.is_error;
    if (result.is_error) report.error = report.finalMessage;
    return report;
  },
  classify(run: ClassifyInput): ExitClassification {
    if (run.exitCode === 0 && run.report.isError !== true) return { exit: "ok" };
    // Without a result object (an error before the run began) stdout holds Claude Code's message.
    const unparsed = run.report.isError === undefined ? run.stdoutTail : undefined;
    return classifyFailure([run.report.error, run.stderrTail, unparsed], PATTERNS);
  },
};

/** A user message on Claude Code's streaming JSON input: one line of JSON. */
function userMessage(text: string): string {
  return `${JSON.stringify({ type: "user", message: { role: "user", content: [{ type: "text", text }] } })}\n`;
}

/** Each answer to a message ends with a `result` line. */
const CLAUDE_LIVE: LiveInput = {
  message: userMessage,
  endsTurn: (line) => ClaudeResult.safeParse(tryJson(line.trim())).success,
};

/**
 * `--output-format json` prints one result object (with `--verbose`, some releases print an array of
 * all messages); `stream-json` prints one message per line, each answer ending with a result. Accept
 * all three. Newest first.
 */
function findResults(stdout: string): ClaudeResult[] {
  const whole = tryJson(stdout.trim());
  const candidates: unknown[] = Array.isArray(whole)
    ? [...whole].reverse()
    : whole !== undefined
      ? [whole]
      : [];
  if (whole === undefined) {
    const lines = stdout.split("\n");
    for (let i = lines.length - 1; i >= 0; i -= 1) {
      const line = (lines[i] as string).trim();
      if (line.startsWith("{")) candidates.push(tryJson(line));
    }
  }
  const results: ClaudeResult[] = [];
  for (const candidate of candidates) {
    const parsed = ClaudeResult.safeParse(candidate);
    if (parsed.success) results.push(parsed.data);
  }
  return results;
}
