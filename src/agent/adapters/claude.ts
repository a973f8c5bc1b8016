import { z } from "zod";
import type { AdapterBuildInput, AdapterInvocation, AgentAdapter, AgentReport } from "./types.ts";

// Flags and result fields per Claude Code's headless mode docs (docs.claude.com/en/docs/claude-code/headless).
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
});
type ClaudeResult = z.infer<typeof ClaudeResult>;

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
  installHint: "install Claude Code (npm i -g @anthropic-ai/claude-code) or set agent: command",
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
    if (result.is_error !== undefined) report.isError = result.is_error;
    return report;
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

function tryJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
