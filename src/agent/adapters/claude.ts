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
 * Claude Code in print mode: the prompt on stdin, one JSON result object on stdout.
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
    const args = [
      ...prefix,
      "-p",
      "--output-format",
      "json",
      ...(choosesPermissions ? [] : ["--permission-mode", "acceptEdits"]),
      ...input.agentArgs,
    ];
    return { file, args, stdin: input.prompt };
  },
  parse(stdout: string): AgentReport {
    const result = findResult(stdout);
    if (!result) return { finalMessage: stdout };
    const report: AgentReport = {
      finalMessage: result.result ?? (result.subtype ? `Claude Code ended with ${result.subtype}` : ""),
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

/**
 * `--output-format json` prints one result object (with `--verbose`, some releases print an array of
 * all messages); `stream-json`, which a repo may choose in agent_args, prints one message per line
 * ending with the result. Accept all three.
 */
function findResult(stdout: string): ClaudeResult | undefined {
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
  for (const candidate of candidates) {
    const parsed = ClaudeResult.safeParse(candidate);
    if (parsed.success) return parsed.data;
  }
  return undefined;
}
