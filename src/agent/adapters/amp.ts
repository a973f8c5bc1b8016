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

// `amp --execute --stream-json` per Amp's manual (https://ampcode.com/manual, "Execute mode") and the
// stream JSON announcement (https://ampcode.com/news/streaming-json), whose messages follow Claude Code's
// stream-json shape: system/init, user, assistant (with Anthropic `usage`), then one `result`.

const Usage = z
  .object({
    input_tokens: z.number(),
    cache_creation_input_tokens: z.number(),
    cache_read_input_tokens: z.number(),
    output_tokens: z.number(),
  })
  .partial();

const AmpMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("system"), session_id: z.string().optional() }),
  z.object({
    type: z.literal("assistant"),
    message: z.object({
      id: z.string().optional(),
      content: z.array(z.object({ type: z.string(), text: z.string().optional() })).optional(),
      usage: Usage.optional(),
    }),
  }),
  z.object({
    type: z.literal("result"),
    subtype: z.string().optional(),
    result: z.string().optional(),
    error: z.string().optional(),
    is_error: z.boolean().optional(),
    num_turns: z.number().optional(),
    session_id: z.string().optional(),
    usage: Usage.optional(),
  }),
]);
type Usage = z.infer<typeof Usage>;

/**
 * Amp signs in with AMP_API_KEY or the key `amp login` stored, and runs on credits. Its messages, as
 * 0.0.1790142911 prints them: "Error: Invalid or missing API key. Run 'amp login' to authenticate." (a
 * key its server refused), "Error: Couldn't connect to the Amp server at <AMP_URL>." (no network).
 */
const PATTERNS = withPatterns({
  unavailable: [
    /\bAMP_API_KEY\b/,
    /out of (?:\w+ )?credits/i,
    /invalid or missing api key/i,
    /couldn't connect to the amp server/i,
  ],
});

/**
 * With no key, Amp starts its login flow on stdout and reads the code from stdin, which holds the prompt.
 */
const LOGIN_PROMPT = /No API key found\. Starting login flow|paste your code here/i;

/**
 * Amp in execute mode: the prompt on stdin ("pipe via stdin: echo "your message" | amp --execute", as the
 * CLI itself puts it), stream JSON on stdout.
 *
 * Permissions: Amp edits files without asking and runs the commands its built-in rules allow; anything
 * else would need an approval that execute mode cannot give (https://ampcode.com/manual/appendix,
 * "Permissions"). We do not default to `--dangerously-allow-all`,
 * for the reason given on the claude adapter; a repo adds it, or its own `amp.permissions`, itself.
 *
 * Amp talks to its own server (AMP_URL, https://ampcode.com by default), which picks the model for the
 * agent mode: a repo chooses the mode, not a model, with `agent_args: [--mode, low|medium|high|ultra]`.
 */
export const ampAdapter: AgentAdapter = {
  name: "amp",
  installHint:
    "install Amp on the worker (npm i -g @ampcode/cli, or curl -fsSL https://ampcode.com/install.sh | bash) or set agent_command to its path",
  authHint:
    "pass AMP_API_KEY (an access token from https://ampcode.com/settings) to agents with DROVER_AGENT_ENV, or log in once as the worker's user with `amp login` and name the file it writes with DROVER_AGENT_CREDENTIALS=~/.local/share/amp/secrets.json",
  stuck(line: string): string | undefined {
    if (line.startsWith("{") || !LOGIN_PROMPT.test(line)) return undefined;
    return `Amp asked to log in: ${line.trim()}`;
  },
  build(input: AdapterBuildInput): AdapterInvocation {
    const [file, prefix] = programOf(input.agentCommand, "amp");
    const own = input.agentArgs;
    const args = [
      ...prefix,
      ...(hasFlag(own, "--execute", "-x") ? [] : ["--execute"]),
      ...(hasFlag(own, "--stream-json") ? [] : ["--stream-json"]),
      ...own,
    ];
    // No terminal access to this machine from ampcode.com for the threads it runs.
    return { file, args, stdin: input.prompt, env: { AMP_REMOTE_CONTROL_TERMINAL: "0" } };
  },
  parse(stdout: string): AgentReport {
    const events = jsonLines(stdout);
    if (events.length === 0) return { finalMessage: stdout };

    let sessionId: string | undefined;
    let lastText: string | undefined;
    let usage: Usage = {};
    const counted = new Set<string>();
    let result: Extract<z.infer<typeof AmpMessage>, { type: "result" }> | undefined;
    for (const line of events) {
      const parsed = AmpMessage.safeParse(line);
      if (!parsed.success) continue;
      const event = parsed.data;
      if (event.type === "system") {
        sessionId = event.session_id ?? sessionId;
      } else if (event.type === "assistant") {
        const texts = (event.message.content ?? []).flatMap((block) =>
          block.type === "text" && block.text ? [block.text] : [],
        );
        if (texts.length > 0) lastText = texts.join("\n\n");
        // A message streamed in parts repeats its usage; count each message id once.
        const id = event.message.id;
        if (event.message.usage && !(id !== undefined && counted.has(id))) {
          if (id !== undefined) counted.add(id);
          usage = sumUsage(usage, event.message.usage);
        }
      } else {
        result = event;
      }
    }

    const report: AgentReport = { finalMessage: result?.result ?? lastText ?? "" };
    const session = result?.session_id ?? sessionId;
    if (session !== undefined) report.sessionId = session;
    if (result?.num_turns !== undefined) report.turns = result.num_turns;
    // Prefer the result's own total where a release reports one.
    const total = result?.usage ?? usage;
    const inputTokens = addCounts(
      undefined,
      total.input_tokens,
      total.cache_creation_input_tokens,
      total.cache_read_input_tokens,
    );
    if (inputTokens !== undefined) report.inputTokens = inputTokens;
    if (total.output_tokens !== undefined) report.outputTokens = total.output_tokens;
    if (result?.is_error !== undefined) report.isError = result.is_error;
    if (result?.is_error) {
      report.error = result.error ?? result.result ?? `Amp ended with ${result.subtype ?? "an error"}`;
    }
    return report;
  },
  classify(run: ClassifyInput): ExitClassification {
    if (run.exitCode === 0 && run.report.isError !== true) return { exit: "ok" };
    return classifyFailure([run.report.error, run.stderrTail, plainStdout(run.stdoutTail)], PATTERNS);
  },
};

function sumUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = {};
  for (const key of Object.keys(Usage.shape) as (keyof Usage)[]) {
    const value = addCounts(a[key], b[key]);
    if (value !== undefined) sum[key] = value;
  }
  return sum;
}
