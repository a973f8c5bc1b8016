import { randomUUID } from "node:crypto";
import { z } from "zod";
import { classifyFailure, withPatterns } from "./classify-exit.ts";
import { hasFlag, programOf } from "./flags.ts";
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
  // When the API failed the turn: its HTTP status (null without a response), and "connection_failed"
  // when there was no response at all (2.1.332).
  api_error_status: z.number().nullish(),
  api_error: z.string().nullish(),
});
type ClaudeResult = z.infer<typeof ClaudeResult>;

/**
 * Printed on stdout (stream-json) before each of Claude Code's own retries of a failed API request, e.g.
 * `{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":623,
 * "error_status":401,"error":"authentication_failed"}` (2.1.332).
 */
const ApiRetry = z.object({
  type: z.literal("system"),
  subtype: z.literal("api_retry"),
  error_status: z.number().nullish(),
  error: z.string().nullish(),
});

/**
 * Variables Claude Code starts with (the operator's DROVER_AGENT_ENV wins over them):
 * - no nonessential traffic (telemetry, error reports, the auto-updater, release notes): it would try the
 *   internet on every run, and each run's HOME is new; DISABLE_AUTOUPDATER is also set on its own;
 * - CLAUDE_CODE_MAX_RETRIES 4 instead of 10: a request that keeps failing (429, 529, no connection) ends
 *   the run in about 10 s of backoff, not minutes (a `retry-after` header still lengthens each wait), so
 *   failover moves on; a short blip is still retried. A refused key is not waited on at all (`stuck`).
 */
const CLAUDE_ENV: Record<string, string> = {
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  DISABLE_AUTOUPDATER: "1",
  CLAUDE_CODE_MAX_RETRIES: "4",
};

/**
 * "Claude AI usage limit reached|<epoch>" on subscription plans, and API errors printed as
 * "API Error: 429 {...rate_limit_error...}" / "529 {...overloaded_error...}"; a rate-limited run may even
 * exit 0 with `is_error: true` (https://github.com/anthropics/claude-code/issues/79500), so the result's
 * own error flag counts as much as the exit status.
 */
const PATTERNS = withPatterns({
  unavailable: [
    /\/login\b/i,
    /ANTHROPIC_API_KEY/,
    // No connection to the API: "API Error: Connection refused — ... (ECONNREFUSED)", "Can't reach the API
    // server — check your internet or DNS (ENOTFOUND)".
    /\b(?:ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET)\b|can't reach the API/i,
  ],
});

/**
 * Claude Code in print mode with streaming JSON input and output: the prompt is the first message on
 * stdin, and stdin stays open while it works, so a hint given meanwhile is another message it reads (see
 * CLAUDE_LIVE for how each is seen answered; Drover closes stdin once every message is, and the CLI exits).
 * With formats of its own in `agent_args`: the prompt on stdin, the output format it chose on stdout.
 *
 * Permissions: `acceptEdits` lets it edit files in the worktree unattended (its Edit and Write tools, and
 * in 2.1.332 also plain file commands in Bash such as `touch`, `rm` or `echo > file` there), while other
 * commands are denied at once ("This command requires approval": print mode asks nobody). We do not
 * default to `--dangerously-skip-permissions`: the worker is not a sandbox, and Drover runs the
 * repository's `checks` itself after the agent. A repo that wants more grants it in `agent_args`
 * (`--allowedTools "Bash(npm test:*)"`, or its own `--permission-mode`, which then replaces ours).
 *
 * The model: Claude Code's default (its most capable, and dearest, model) unless `agent_args` name one
 * (`--model sonnet`, `--model haiku` or a full model name) or the operator passes ANTHROPIC_MODEL.
 */
export const claudeAdapter: AgentAdapter = {
  name: "claude",
  installHint:
    "install Claude Code on the worker (npm i -g @anthropic-ai/claude-code) or set agent_command to its path",
  authHint:
    "pass ANTHROPIC_API_KEY (an API key) or CLAUDE_CODE_OAUTH_TOKEN (a Claude subscription's token, made once with `claude setup-token`) to agents with DROVER_AGENT_ENV, or ANTHROPIC_AUTH_TOKEN for a gateway that takes a bearer token; or log in once with `claude` as the worker's user and name ~/.claude/.credentials.json in DROVER_AGENT_CREDENTIALS (each run has a HOME of its own, so the login alone is not seen)",
  // Claude Code keeps no download cache in HOME (2.1.332 writes only ~/.claude.json and ~/.claude/:
  // sessions, transcripts, settings backups, credentials), so nothing is shared between runs.
  cacheDirs: [],
  stuck(line: string): string | undefined {
    // A key the API refused will not be accepted on the next attempt: end the run at the first refusal
    // instead of after Claude Code's own retries (ten over about three minutes by default).
    // Every stream-json event is a line: only the retry notices are worth parsing.
    if (!line.includes('"api_retry"')) return undefined;
    const retry = ApiRetry.safeParse(tryJson(line.trim()));
    if (!retry.success) return undefined;
    const { error_status: status, error } = retry.data;
    if (status !== 401 && status !== 403 && error !== "authentication_failed") return undefined;
    const said = [status && `HTTP ${status}`, error].filter(Boolean).join(" ");
    return `the Anthropic API refused the credentials (${said}), before Claude Code's own retries`;
  },
  build(input: AdapterBuildInput): AdapterInvocation {
    // agent_command, when set, names the claude program (e.g. an absolute path) and any leading args.
    const [file, prefix] = programOf(input.agentCommand, "claude");
    const choosesPermissions = hasFlag(
      input.agentArgs,
      "--permission-mode",
      "--dangerously-skip-permissions",
    );
    const permissions = choosesPermissions ? [] : ["--permission-mode", "acceptEdits"];
    const inputFormat = lastValue(input.agentArgs, "--input-format");
    const outputFormat = lastValue(input.agentArgs, "--output-format");
    // A repo that picks its own output format (and text input) in agent_args gets the one-shot mode with
    // it; stream-json output in print mode needs --verbose ("When using --print,
    // --output-format=stream-json requires --verbose"), so it is added when missing.
    if (inputFormat !== "stream-json" && (inputFormat !== undefined || outputFormat !== undefined)) {
      const verbose =
        outputFormat === "stream-json" && !hasFlag(input.agentArgs, "--verbose") ? ["--verbose"] : [];
      const args = [
        ...prefix,
        "-p",
        "--output-format",
        "json",
        ...verbose,
        ...permissions,
        ...input.agentArgs,
      ];
      return { file, args, stdin: input.prompt, env: CLAUDE_ENV };
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
    return { file, args, stdin: userMessage(input.prompt), live: CLAUDE_LIVE, env: CLAUDE_ENV };
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
    // Each answer's result counts the turns and tokens of that answer alone, and the cost of the whole
    // session so far (2.1.332): turns and tokens add up, the cost is the newest.
    const cost = result.total_cost_usd ?? result.cost_usd;
    if (cost !== undefined) report.costUsd = cost;
    if (result.session_id !== undefined) report.sessionId = result.session_id;
    let turns: number | undefined;
    let input: number | undefined;
    let output: number | undefined;
    for (const { num_turns, usage } of results) {
      turns = addCounts(turns, num_turns);
      input = addCounts(
        input,
        usage?.input_tokens,
        usage?.cache_creation_input_tokens,
        usage?.cache_read_input_tokens,
      );
      output = addCounts(output, usage?.output_tokens);
    }
    if (turns !== undefined) report.turns = turns;
    if (input !== undefined) report.inputTokens = input;
    if (output !== undefined) report.outputTokens = output;
    if (result.is_error !== undefined) report.isError = result.is_error;
    if (result.is_error) report.error = report.finalMessage;
    return report;
  },
  classify(run: ClassifyInput): ExitClassification {
    if (run.exitCode === 0 && run.report.isError !== true) return { exit: "ok" };
    const failedApi = apiFailure(run.stdoutTail);
    if (failedApi) return failedApi;
    // Without a result object (an error before the run began) stdout holds Claude Code's message.
    const unparsed = run.report.isError === undefined ? run.stdoutTail : undefined;
    return classifyFailure([run.report.error, run.stderrTail, unparsed], PATTERNS);
  },
};

/**
 * How the API failed the last turn, from the error result's own fields (2.1.332): 429 and 529 are rate
 * limits, 401 and 403 refused credentials, no response at all no network. Other errors are left to the
 * wording.
 */
function apiFailure(stdout: string): ExitClassification | undefined {
  const result = findResults(stdout)[0];
  if (!result?.is_error) return undefined;
  const detail = clip(result.result ?? `HTTP ${result.api_error_status}`);
  const status = result.api_error_status;
  if (status === 429 || status === 529) return { exit: "rate-limited", detail };
  if (status === 401 || status === 403) return { exit: "unavailable", detail };
  if (result.api_error === "connection_failed") return { exit: "unavailable", detail };
  return undefined;
}

function clip(text: string): string {
  const line = text.trim().split("\n").at(-1) ?? "";
  return line.length <= 300 ? line : `${line.slice(0, 299)}…`;
}

/** The value the last `--flag value` or `--flag=value` in `args` gives, if any. */
function lastValue(args: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  args.forEach((arg, index) => {
    if (arg === flag) value = args[index + 1];
    else if (arg.startsWith(`${flag}=`)) value = arg.slice(flag.length + 1);
  });
  return value;
}

/** A user message on Claude Code's streaming JSON input: one line of JSON. */
function userMessage(text: string, uuid?: string): string {
  const message = { role: "user", content: [{ type: "text", text }] };
  return `${JSON.stringify({ type: "user", ...(uuid === undefined ? {} : { uuid }), message })}\n`;
}

/**
 * A line that reports one message answered. The prompt's answer ends with a `result` line. A hint is
 * sent with a uuid, so Claude Code reports what became of it (`command_lifecycle` frames): a hint that
 * arrives while it works is folded into the turn under way ("The user sent a new message while you were
 * working: ...") and answered by that turn's single result, and only its `completed` frame tells (2.1.332).
 * A hint that waited for a turn of its own gets both its frame and a result: counted twice, stdin is
 * closed while that last turn runs, which it finishes all the same.
 */
const AnswerLine = z.union([
  ClaudeResult,
  z.object({ type: z.literal("command_lifecycle"), state: z.enum(["completed", "cancelled"]) }),
]);

const CLAUDE_LIVE: LiveInput = {
  message: (text) => userMessage(text, randomUUID()),
  endsTurn: (line) => AnswerLine.safeParse(tryJson(line.trim())).success,
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
