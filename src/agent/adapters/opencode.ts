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

// `opencode run --format json` per OpenCode's CLI docs (https://opencode.ai/docs/cli/#run) and its source
// (https://github.com/sst/opencode, packages/opencode/src/cli/cmd/run.ts: piped stdin becomes the
// message; `--format json` prints one event per line, `{type, timestamp, sessionID, part | error}`),
// with parts as in packages/opencode/src/session/message-v2.ts (`step-finish` carries cost and tokens).

const Tokens = z.object({
  input: z.number().optional(),
  output: z.number().optional(),
  reasoning: z.number().optional(),
  cache: z.object({ read: z.number(), write: z.number() }).partial().optional(),
});

const OpenCodeError = z.object({
  name: z.string().optional(),
  data: z.object({ message: z.string(), statusCode: z.number() }).partial().optional(),
});
type OpenCodeError = z.infer<typeof OpenCodeError>;

/** What OpenCode says when the provider's API does not answer at all (the AI SDK's connection error). */
const CANNOT_CONNECT = /Cannot connect to API/;

const OpenCodeEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("step_start"), sessionID: z.string().optional() }),
  z.object({
    type: z.literal("text"),
    sessionID: z.string().optional(),
    part: z.object({ text: z.string() }),
  }),
  z.object({
    type: z.literal("step_finish"),
    sessionID: z.string().optional(),
    part: z.object({ cost: z.number().optional(), tokens: Tokens.optional() }),
  }),
  z.object({ type: z.literal("error"), sessionID: z.string().optional(), error: OpenCodeError.optional() }),
]);

/**
 * Provider errors arrive as `APIError` with their HTTP status, missing credentials as `ProviderAuthError`;
 * an API it cannot reach as "Cannot connect to API", after its retries.
 */
const PATTERNS = withPatterns({
  unavailable: [/ProviderAuthError/, /ProviderModelNotFoundError|ModelNotFoundError/, CANNOT_CONNECT],
});

/**
 * Variables OpenCode reads at start (its flags, as the 1.18.33 binary reads them; `--print-logs` and
 * `--log-level` set the first two). Its logs go to stderr from WARN up, so the provider's own error is
 * there when the event on stdout only says `UnknownError`, and a failed model call shows at its first
 * attempt rather than after the retries.
 */
const ENV: Record<string, string> = {
  OPENCODE_PRINT_LOGS: "1",
  OPENCODE_LOG_LEVEL: "WARN",
  OPENCODE_DISABLE_AUTOUPDATE: "1",
  // Otherwise the models.dev catalogue is fetched from models.opencode.ai at start and hourly; without it
  // OpenCode uses the catalogue built into the release (prices included).
  OPENCODE_DISABLE_MODELS_FETCH: "1",
};

/**
 * OpenCode's run command: the prompt on stdin, JSON events on stdout.
 *
 * Permissions follow the repository's and the worker's OpenCode config; by default OpenCode edits and
 * runs commands without asking (https://opencode.ai/docs/permissions). Releases whose `run` can ask
 * reject what they would have asked about unless `--auto` is given (run.ts above); we leave that choice
 * to `agent_args`, as on the other adapters.
 */
export const opencodeAdapter: AgentAdapter = {
  name: "opencode",
  installHint: "install OpenCode on the worker (npm i -g opencode-ai) or set agent_command to its path",
  authHint:
    "pass the model provider's key (ANTHROPIC_API_KEY, OPENAI_API_KEY, ...) to agents with DROVER_AGENT_ENV, or log in once as the worker's user with `opencode auth login` and name the file it writes with DROVER_AGENT_CREDENTIALS=~/.local/share/opencode/auth.json; pick the model with agent_args [--model, provider/model]",
  // Provider packages and downloaded tools (~/.cache/opencode), and npm's cache: at every start OpenCode
  // installs @opencode-ai/plugin into ~/.config/opencode with npm (about 30 MB), which then comes from
  // the cache. Logins (~/.local/share/opencode/auth.json) and config stay per run.
  cacheDirs: [".cache/opencode", ".npm"],
  stuck(line: string): string | undefined {
    // Its log line for a failed model call; OpenCode would retry it five times over about a minute.
    if (!line.startsWith("timestamp=") || !CANNOT_CONNECT.test(line)) return undefined;
    const error = /error\.error="([^"]*)"/.exec(line)?.[1] ?? "Cannot connect to API";
    return `OpenCode cannot reach the model provider's API (${error})`;
  },
  build(input: AdapterBuildInput): AdapterInvocation {
    const [file, prefix] = programOf(input.agentCommand, "opencode");
    const own = input.agentArgs;
    const args = [...prefix, "run", ...(hasFlag(own, "--format") ? [] : ["--format", "json"]), ...own];
    return { file, args, stdin: input.prompt, env: { ...ENV } };
  },
  parse(stdout: string): AgentReport {
    const events = jsonLines(stdout);
    if (events.length === 0) return { finalMessage: stdout };

    let sessionId: string | undefined;
    let stepTexts: string[] = [];
    let lastTexts: string[] = [];
    let steps = 0;
    let cost: number | undefined;
    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    let error: string | undefined;
    for (const line of events) {
      const parsed = OpenCodeEvent.safeParse(line);
      if (!parsed.success) continue;
      const event = parsed.data;
      sessionId = event.sessionID ?? sessionId;
      switch (event.type) {
        case "step_start":
          stepTexts = [];
          break;
        case "text":
          stepTexts.push(event.part.text);
          // The answer is the text of the last step that wrote any (a final step may only call tools).
          lastTexts = stepTexts;
          break;
        case "step_finish": {
          steps += 1;
          cost = addCounts(cost, event.part.cost);
          const tokens = event.part.tokens;
          inputTokens = addCounts(inputTokens, tokens?.input, tokens?.cache?.read, tokens?.cache?.write);
          outputTokens = addCounts(outputTokens, tokens?.output, tokens?.reasoning);
          break;
        }
        case "error":
          error = describeError(event.error);
          break;
      }
    }

    const report: AgentReport = { finalMessage: lastTexts.join("\n\n") };
    if (sessionId !== undefined) report.sessionId = sessionId;
    // Each step is one model call, as Claude Code counts turns.
    if (steps > 0) report.turns = steps;
    if (cost !== undefined) report.costUsd = cost;
    if (inputTokens !== undefined) report.inputTokens = inputTokens;
    if (outputTokens !== undefined) report.outputTokens = outputTokens;
    // Older releases exit 0 after an error event; the event is what says the run failed.
    report.isError = error !== undefined;
    if (error !== undefined) report.error = error;
    return report;
  },
  classify(run: ClassifyInput): ExitClassification {
    if (run.exitCode === 0 && run.report.isError !== true) return { exit: "ok" };
    return classifyFailure([run.report.error, run.stderrTail, plainStdout(run.stdoutTail)], PATTERNS);
  },
};

function describeError(error: OpenCodeError | undefined): string {
  const name = error?.name ?? "error";
  const message = error?.data?.message;
  const status = error?.data?.statusCode;
  return `${name}${message ? `: ${message}` : ""}${status !== undefined ? ` (HTTP ${status})` : ""}`;
}
