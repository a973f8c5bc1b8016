import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { formatDuration } from "../../src/agent/format-duration.ts";
import { parseArgv } from "../../src/agent/parse-argv.ts";
import { PLAN_EXAMPLE, type SpecFile } from "../../src/agent/plan-prompt.ts";
import { runAgent, type AgentRunResult } from "../../src/agent/run-agent.ts";
import { relativizePaths, scrubSecrets, type ServerPath } from "../../src/agent/scrub.ts";
import type { DroverConfig } from "../../src/config/schema.ts";
import { changesIn, type ReadOnlyCheckout } from "../../src/git/read-only.ts";
import type { BacklogItem } from "../../src/graph/backlog.ts";
import { PLAN_FENCE, parsePlan, type ParsedPlan } from "../../src/graph/plan.ts";
import { lastFencedBlock } from "../../src/lib/markdown.ts";

/**
 * One planning run, shared by `/drover plan` (jobs/plan.ts) and `drover spec` (src/main/commands/spec.ts):
 * the configured agent in a locked directory, its `drover-plan` block read strictly, and whatever it
 * changed there found (the caller throws the directory away).
 */

/** The end of the agent's output shown when it gave no plan. */
const TAIL_CHARS = 3_000;

export type PlanOutcome =
  | { ok: true; items: BacklogItem[]; discarded: string[] }
  | { ok: false; what: string; problems: string[]; tail: string; discarded: string[] };

export type PlannerInput = {
  config: Pick<
    DroverConfig,
    "agent" | "agent_command" | "agent_args" | "task_timeout" | "agent_idle_timeout"
  >;
  prompt: string;
  checkout: ReadOnlyCheckout;
  /** The agent's own directory (prompt.md, agent.log, HOME), outside the checkout. */
  workDir: string;
  env: Record<string, string>;
  runAs?: { uid: number; gid: number } | undefined;
  signal?: AbortSignal | undefined;
  /** Secret values to take out of anything shown, and the machine's paths to hide. */
  secrets: readonly string[];
  paths: readonly ServerPath[];
  /** Told the agent's process id once it started. */
  onSpawn?: (pid: number) => void;
};

export async function runPlanner(input: PlannerInput): Promise<PlanOutcome> {
  const { config } = input;
  const result = await runAgent({
    agent: config.agent,
    agentCommand: config.agent_command === undefined ? undefined : parseArgv(config.agent_command),
    agentArgs: config.agent_args,
    prompt: input.prompt,
    cwd: input.checkout.path,
    workDir: input.workDir,
    timeoutMs: config.task_timeout,
    idleTimeoutMs: config.agent_idle_timeout,
    signal: input.signal,
    killGraceMs: 2_000,
    env: input.env,
    runAs: input.runAs,
    ...(input.onSpawn ? { onSpawn: input.onSpawn } : {}),
  });
  const discarded = await changesIn(input.checkout);
  const clean = (text: string) => relativizePaths(scrubSecrets(text, input.secrets), input.paths);
  const parsed = planFrom(result);
  if (parsed.ok && result.outcome === "exited") return { ok: true, items: parsed.items, discarded };
  const tail = clean(result.logTail).slice(-TAIL_CHARS);
  return {
    ok: false,
    what: clean(whatHappened(result, config.task_timeout)),
    problems: parsed.ok ? [] : parsed.problems.map(clean),
    tail,
    discarded,
  };
}

/**
 * The plan in the agent's final message, or else anywhere in its output. Read from the output, a plan
 * identical to the prompt's example is the prompt echoed (as some CLIs print their instructions), and
 * no plan of the agent's.
 */
export function planFrom(result: Pick<AgentRunResult, "finalMessage" | "logTail">): ParsedPlan {
  const fromMessage = parsePlan(result.finalMessage);
  if (fromMessage.ok || hasPlanBlock(result.finalMessage)) return fromMessage;
  const fromLog = parsePlan(result.logTail);
  if (fromLog.ok && sameItems(fromLog.items, EXAMPLE_ITEMS))
    return {
      ok: false,
      problems: [
        "the only drover-plan block in the agent's output is the prompt's example (its instructions echoed), not a plan of its own",
      ],
    };
  return fromLog.ok || hasPlanBlock(result.logTail) ? fromLog : fromMessage;
}

/** Whether `text` opens a plan block (one a mention of the fence in prose does not open), parsed or not. */
function hasPlanBlock(text: string): boolean {
  return lastFencedBlock(text, PLAN_FENCE) !== null;
}

const EXAMPLE_ITEMS = (() => {
  const parsed = parsePlan(PLAN_EXAMPLE);
  if (!parsed.ok) throw new Error(`the prompt's example plan does not parse: ${parsed.problems.join("; ")}`);
  return parsed.items;
})();

function sameItems(a: readonly BacklogItem[], b: readonly BacklogItem[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function whatHappened(result: AgentRunResult, timeoutMs: number): string {
  const agent = `The agent (${result.agent || "none"})`;
  switch (result.outcome) {
    case "timed-out":
      return `${agent} was stopped after ${formatDuration(timeoutMs)}, the task_timeout, before it gave a plan.`;
    case "cancelled":
      return `${agent} was stopped before it gave a plan.`;
    case "spawn-failed":
    case "unavailable":
    case "rate-limited":
      return `${agent} could not plan: ${result.error ?? result.outcome}.`;
    default:
      return result.exitCode === 0
        ? `${agent} finished without a usable plan.`
        : `${agent} exited with code ${result.exitCode ?? "none"} without a usable plan.`;
  }
}

/** How much of each linked file, and of all of them, the prompt takes. */
export type SpecFileLimits = { perFile: number; total: number };

/**
 * The files a spec links, read from the checkout: regular files inside it only (a link that resolves
 * outside, or to something else, is left out), each cut to `perFile` characters, all to `total`.
 */
export async function readSpecFiles(
  root: string,
  paths: readonly string[],
  limits: SpecFileLimits,
): Promise<SpecFile[]> {
  const realRoot = await realpath(root);
  const files: SpecFile[] = [];
  let left = limits.total;
  for (const relative of paths) {
    if (left <= 0) break;
    const real = await realpath(path.join(root, relative)).catch(() => null);
    if (real === null || !real.startsWith(`${realRoot}${path.sep}`)) continue;
    if (!(await stat(real)).isFile()) continue;
    const text = await readFile(real, "utf8");
    const cap = Math.min(limits.perFile, left);
    files.push({ path: relative, text: text.slice(0, cap), truncated: text.length > cap });
    left -= Math.min(text.length, cap);
  }
  return files;
}
