import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { finished } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import { execa } from "execa";
import {
  agentNames,
  getAdapter,
  type AgentAdapter,
  type AgentReport,
  type ClassifyInput,
  type ExitClassification,
  type LiveInput,
} from "./adapters/index.ts";
import { agentForAttempt, FAILOVER_OUTCOMES, type PreviousAttempt } from "./failover.ts";
import { formatDuration } from "./format-duration.ts";
import { IdleWatch } from "./idle-watch.ts";
import type { AgentOutcome } from "./judge.ts";
import { TailBuffer } from "./tail-buffer.ts";
import { parseVerdict, type AgentVerdict } from "./verdict.ts";

export interface AgentRunInput {
  /**
   * drover.yml `agent`: an adapter name (claude, codex, amp, opencode, command), or the failover list,
   * from which `previousAttempts` picks the agent (`agentForAttempt`).
   */
  agent: string | readonly string[];
  /** The task's earlier attempts, in order: which agent ran each and its outcome. Default none. */
  previousAttempts?: readonly PreviousAttempt[] | undefined;
  /**
   * drover.yml `agent_command`, as argv. With a list of several agents it belongs to `command` alone;
   * the other agents run their CLI by its usual name.
   */
  agentCommand?: readonly string[] | undefined;
  /** drover.yml `agent_args`. */
  agentArgs?: readonly string[] | undefined;
  prompt: string;
  /** The worktree the agent works in. */
  cwd: string;
  /** A private directory outside the worktree for prompt.md and agent.log; created if missing. */
  workDir: string;
  timeoutMs: number;
  /**
   * A run that prints nothing and changes no file in `cwd` for this long is stopped and judged unavailable
   * (drover.yml `agent_idle_timeout`). Default: no such limit.
   */
  idleTimeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** The complete agent environment, already allowlisted (see `agentEnvironment`). */
  env: Record<string, string>;
  /** Size of the combined stdout+stderr tail kept in memory. Default 64 KiB. */
  maxLogBytes?: number | undefined;
  /** agent.log stops growing at this size. Default 10 MiB. */
  maxLogFileBytes?: number | undefined;
  /** Time between SIGTERM and SIGKILL to the agent's process group. Default 5 s. */
  killGraceMs?: number | undefined;
  /** Live output (stdout and stderr, decoded), e.g. for the events stream. */
  onOutput?: ((chunk: string) => void) | undefined;
  /** Run the agent as this operating-system user (DROVER_AGENT_USER); the caller hands it the files. */
  runAs?: { uid: number; gid: number } | undefined;
  /** Told the agent's process id (it leads its own process group) once it has started. */
  onSpawn?: ((pid: number) => void) | undefined;
  /**
   * For an agent that reads messages while it runs (the adapter's `live`): told, once it has started, how
   * to give it one. `deliver` answers false once the agent no longer reads (it answered everything and its
   * input was closed, or it ended). Never called for other agents.
   */
  onLive?: ((deliver: (text: string) => boolean) => void) | undefined;
}

export interface AgentRunResult {
  /** The agent that ran (or was to run). */
  agent: string;
  outcome: AgentOutcome;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** The last `maxLogBytes` of stdout and stderr, interleaved. */
  logTail: string;
  logFile: string;
  finalMessage: string;
  verdict: AgentVerdict | null;
  verdictProblem?: string;
  costUsd?: number;
  turns?: number;
  sessionId?: string;
  inputTokens?: number;
  outputTokens?: number;
  /** The agent reported an error of its own (Claude Code's `is_error`). */
  isError?: boolean;
  /** What the agent said went wrong, when it said. */
  agentError?: string;
  /** Why the agent could not start, or why it is unavailable or rate-limited (with what to do about it). */
  error?: string;
  /**
   * For an unavailable or rate-limited agent of a failover list: the agent the next attempt would use,
   * when that is another one.
   */
  nextAgent?: string;
}

const KIB = 1024;
const MIB = 1024 * KIB;
/** The adapter parses the end of stdout; a Claude Code JSON result fits well within this. */
const STDOUT_TAIL_BYTES = MIB;
/** Enough for the error a CLI prints when it gives up. */
const STDERR_TAIL_BYTES = 64 * KIB;

/**
 * Runs one agent in a worktree and reports what happened. Agent misbehaviour (not found, non-zero
 * exit, timeout, floods of output, stray child processes) is an outcome, never an exception.
 *
 * The agent leads its own process group, so a timeout or cancel reaches everything it started:
 * SIGTERM to the group, SIGKILL after a grace period; and when the agent itself exits, the group is
 * killed anyway so no leftover grandchild keeps the worktree busy or the pipes open.
 */
export async function runAgent(input: AgentRunInput): Promise<AgentRunResult> {
  await assertInput(input);
  const startedAt = performance.now();
  const elapsed = (): number => Math.round(performance.now() - startedAt);

  await mkdir(input.workDir, { recursive: true });
  const promptFile = join(input.workDir, "prompt.md");
  const logFile = join(input.workDir, "agent.log");
  await writeFile(promptFile, input.prompt);

  const agents = typeof input.agent === "string" ? [input.agent] : input.agent;
  const agent = agents.length === 0 ? "" : agentForAttempt(agents, input.previousAttempts ?? []);

  const notStarted = (outcome: AgentOutcome, error?: string): AgentRunResult => ({
    agent,
    outcome,
    exitCode: null,
    signal: null,
    durationMs: elapsed(),
    logTail: "",
    logFile,
    finalMessage: "",
    verdict: null,
    verdictProblem: "the agent did not run",
    ...(error === undefined ? {} : { error }),
  });

  const adapter = getAdapter(agent);
  if (!adapter) {
    return notStarted(
      "spawn-failed",
      `unknown agent ${JSON.stringify(agent)}; use one of ${agentNames.join(", ")}`,
    );
  }
  let invocation;
  try {
    invocation = adapter.build({
      prompt: input.prompt,
      promptFile,
      agentCommand: agents.length === 1 || agent === "command" ? input.agentCommand : undefined,
      agentArgs: input.agentArgs ?? [],
    });
  } catch (error) {
    return notStarted("spawn-failed", (error as Error).message);
  }
  if (input.signal?.aborted) return notStarted("cancelled");

  const log = new CappedLog(logFile, input.maxLogFileBytes ?? 10 * MIB);
  const combined = new TailBuffer(input.maxLogBytes ?? 64 * KIB);
  const stdoutTail = new TailBuffer(STDOUT_TAIL_BYTES);
  const stderrTail = new TailBuffer(STDERR_TAIL_BYTES);
  let outputError: unknown;

  const subprocess = execa(invocation.file, invocation.args, {
    cwd: input.cwd,
    env: { ...invocation.env, ...input.env },
    extendEnv: false,
    detached: true,
    ...(invocation.live ? { stdin: "pipe" as const } : { input: invocation.stdin }),
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
    ...(input.runAs ? { uid: input.runAs.uid, gid: input.runAs.gid } : {}),
  });
  if (subprocess.pid !== undefined) input.onSpawn?.(subprocess.pid);

  const emit = (text: string): void => {
    if (!input.onOutput || text === "" || outputError !== undefined) return;
    try {
      input.onOutput(text);
    } catch (error) {
      outputError = error;
    }
  };
  const pid = subprocess.pid;
  let stoppedFor: StopReason | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (reason: StopReason): void => {
    if (stoppedFor || pid === undefined) return;
    stoppedFor = reason;
    if (typeof reason === "object")
      log.write(Buffer.from(`\n[drover: stopped the agent: ${reason.detail}]\n`));
    signalGroup(pid, "SIGTERM");
    killTimer = setTimeout(() => signalGroup(pid, "SIGKILL"), input.killGraceMs ?? 5000);
  };
  const idle =
    input.idleTimeoutMs === undefined || pid === undefined
      ? undefined
      : new IdleWatch(input.cwd, input.idleTimeoutMs, (ms) =>
          stop({
            detail: `no output and no file changed for ${formatDuration(ms)}, the agent_idle_timeout: it may be waiting for the network or for a login`,
          }),
        );

  const decoders: StringDecoder[] = [];
  const stuckLines: StuckLines[] = [];
  const watch = (stream: NodeJS.ReadableStream | null, isStdout: boolean): void => {
    const decoder = new StringDecoder("utf8");
    decoders.push(decoder);
    const lines = adapter.stuck ? new StuckLines(adapter, (detail) => stop({ detail })) : undefined;
    if (lines) stuckLines.push(lines);
    stream?.on("data", (data: Buffer | string) => {
      const chunk = typeof data === "string" ? Buffer.from(data) : data;
      idle?.activity();
      combined.push(chunk);
      (isStdout ? stdoutTail : stderrTail).push(chunk);
      log.write(chunk);
      const text = decoder.write(chunk);
      emit(text);
      lines?.push(text);
    });
  };
  watch(subprocess.stdout, true);
  watch(subprocess.stderr, false);
  if (invocation.live)
    liveInput({ stdin: subprocess.stdin, stdout: subprocess.stdout, process: subprocess }, invocation.live, {
      first: invocation.stdin,
      onLive: input.onLive,
    });

  const timeoutTimer = setTimeout(() => stop("timed-out"), input.timeoutMs);
  const onAbort = (): void => stop("cancelled");
  input.signal?.addEventListener("abort", onAbort, { once: true });
  subprocess.once("exit", () => {
    // An agent that ended by itself is judged by how it ended, not by a check that came a moment late.
    idle?.stop();
    for (const lines of stuckLines) lines.stop();
    if (pid !== undefined) signalGroup(pid, "SIGKILL");
  });

  const result = await subprocess;
  idle?.stop();
  for (const lines of stuckLines) lines.stop();
  clearTimeout(timeoutTimer);
  clearTimeout(killTimer);
  input.signal?.removeEventListener("abort", onAbort);
  for (const decoder of decoders) emit(decoder.end());
  await log.close();
  // onOutput is the caller's code; its failure is a programming error, not the agent's.
  if (outputError !== undefined) throw outputError;

  if (pid === undefined) {
    const missing = result.code === "ENOENT";
    return withFailover(
      {
        ...notStarted(
          missing ? "unavailable" : "spawn-failed",
          spawnError(adapter, agent, invocation.file, result),
        ),
        logTail: combined.toString(),
      },
      agents,
      input.previousAttempts,
    );
  }

  const stdout = stdoutTail.toString();
  const report = safeParse(adapter, stdout);
  let parsed = parseVerdict(report.finalMessage);
  if (parsed.verdict === null && report.finalMessage !== stdout) {
    const fallback = parseVerdict(stdout);
    if (fallback.verdict !== null) parsed = fallback;
  }

  const exitCode = result.exitCode ?? null;
  // A run Drover stopped is judged by why it stopped, whatever it printed on the way out.
  const ended: ExitClassification | undefined =
    typeof stoppedFor === "object"
      ? { exit: "unavailable", detail: stoppedFor.detail }
      : stoppedFor
        ? undefined
        : safeClassify(adapter, { exitCode, stdoutTail: stdout, stderrTail: stderrTail.toString(), report });
  const gaveUp = ended?.exit === "unavailable" || ended?.exit === "rate-limited" ? ended.exit : undefined;

  const run: AgentRunResult = {
    agent,
    outcome: (typeof stoppedFor === "string" ? stoppedFor : undefined) ?? gaveUp ?? "exited",
    exitCode,
    signal: result.signal ?? null,
    durationMs: elapsed(),
    logTail: combined.toString(),
    logFile,
    finalMessage: report.finalMessage,
    verdict: parsed.verdict,
  };
  if (parsed.verdict === null) run.verdictProblem = parsed.problem;
  if (report.costUsd !== undefined) run.costUsd = report.costUsd;
  if (report.turns !== undefined) run.turns = report.turns;
  if (report.sessionId !== undefined) run.sessionId = report.sessionId;
  if (report.inputTokens !== undefined) run.inputTokens = report.inputTokens;
  if (report.outputTokens !== undefined) run.outputTokens = report.outputTokens;
  if (report.isError !== undefined) run.isError = report.isError;
  if (report.error !== undefined) run.agentError = report.error;
  if (gaveUp && ended) run.error = gaveUpError(adapter, agent, ended);
  return withFailover(run, agents, input.previousAttempts);
}

/**
 * Streaming input: the prompt is written and stdin stays open; each message given later is written too,
 * and stdin is closed once the agent has answered every message written (a line of its stdout ends each
 * answer), so it exits as it would have.
 */
function liveInput(
  agent: {
    stdin: NodeJS.WritableStream | null;
    stdout: NodeJS.ReadableStream | null;
    process: { once(event: "exit", listener: () => void): unknown };
  },
  live: LiveInput,
  { first, onLive }: { first: string; onLive: AgentRunInput["onLive"] },
): void {
  const stdin = agent.stdin;
  if (!stdin) return;
  // An agent that ends (or closes its input) early is judged by how it ended, not by a broken pipe.
  stdin.on("error", () => {});
  let open = true;
  let unanswered = 1;
  const close = () => {
    if (!open) return;
    open = false;
    stdin.end();
  };
  let partial = "";
  const decoder = new StringDecoder("utf8");
  agent.stdout?.on("data", (data: Buffer | string) => {
    const lines = (partial + (typeof data === "string" ? data : decoder.write(data))).split("\n");
    partial = lines.pop() ?? "";
    // A line too long to be a turn's end is not kept whole: the adapter's own parse reads the tail.
    if (partial.length > STDOUT_TAIL_BYTES) partial = "";
    for (const line of lines) {
      if (open && live.endsTurn(line)) {
        unanswered -= 1;
        if (unanswered <= 0) close();
      }
    }
  });
  agent.process.once("exit", () => {
    open = false;
  });
  stdin.write(first);
  onLive?.((text) => {
    if (!open) return false;
    unanswered += 1;
    stdin.write(live.message(text));
    return true;
  });
}

/**
 * Why Drover stopped a running agent: its time ran out, a person or the worker stopped it, or (an object)
 * it was judged unavailable while it ran (idle for too long, or a line that says it will not finish).
 */
type StopReason = "timed-out" | "cancelled" | { detail: string };

/** The longest line handed to an adapter's `stuck`: what a CLI prints when it gives up is short. */
const STUCK_LINE_CHARS = 4096;

/**
 * An unfinished line left this long with nothing after it is handed to `stuck` too: a prompt waits for
 * an answer on the line it printed.
 */
const PROMPT_WAIT_MS = 1_000;

/**
 * One output stream of the agent, read line by line (`\n`, `\r\n`, or a `\r` that redraws a status line)
 * for the adapter's `stuck`; `onStuck` is told the reason of the first line it recognises.
 */
class StuckLines {
  readonly #adapter: Pick<AgentAdapter, "stuck">;
  readonly #onStuck: (detail: string) => void;
  #partial = "";
  #promptTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(adapter: Pick<AgentAdapter, "stuck">, onStuck: (detail: string) => void) {
    this.#adapter = adapter;
    this.#onStuck = onStuck;
  }

  push(text: string): void {
    if (this.#stopped) return;
    clearTimeout(this.#promptTimer);
    const lines = (this.#partial + text).split(/\r\n|\r|\n/);
    this.#partial = (lines.pop() ?? "").slice(-STUCK_LINE_CHARS);
    for (const line of lines) this.#check(line.slice(0, STUCK_LINE_CHARS));
    if (this.#partial !== "" && !this.#stopped) {
      this.#promptTimer = setTimeout(() => this.#check(this.#partial), PROMPT_WAIT_MS);
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#promptTimer);
  }

  #check(line: string): void {
    if (this.#stopped || line === "") return;
    let detail: string | undefined;
    try {
      detail = this.#adapter.stuck?.(line);
    } catch {
      detail = undefined;
    }
    if (detail === undefined) return;
    this.stop();
    this.#onStuck(detail);
  }
}

/** Names the agent the next attempt would use, when this one could not work and another can. */
function withFailover(
  run: AgentRunResult,
  agents: readonly string[],
  previous: readonly PreviousAttempt[] = [],
): AgentRunResult {
  if (!FAILOVER_OUTCOMES.includes(run.outcome)) return run;
  const next = agentForAttempt(agents, [...previous, { agent: run.agent, outcome: run.outcome }]);
  return next === run.agent ? run : { ...run, nextAgent: next };
}

function gaveUpError(adapter: AgentAdapter, agent: string, ended: ExitClassification): string {
  const detail = ended.detail ? ` (${ended.detail})` : "";
  if (ended.exit === "rate-limited") return `agent ${agent} is rate-limited${detail}`;
  const hint = adapter.authHint ? `; ${adapter.authHint}` : "";
  return `agent ${agent} is unavailable${detail}${hint}`;
}

async function assertInput(input: AgentRunInput): Promise<void> {
  if (!isAbsolute(input.cwd) || !isAbsolute(input.workDir)) {
    throw new Error("runAgent: cwd and workDir must be absolute paths");
  }
  if (!(input.timeoutMs > 0)) throw new Error(`runAgent: timeoutMs must be positive, got ${input.timeoutMs}`);
  // A missing worktree is Drover's bug, and spawn would report it as a missing program.
  const cwd = await stat(input.cwd).catch(() => undefined);
  if (!cwd?.isDirectory()) throw new Error(`runAgent: cwd ${input.cwd} is not a directory`);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the whole group is already gone.
  }
}

function safeParse(adapter: AgentAdapter, stdout: string): AgentReport {
  try {
    return adapter.parse(stdout);
  } catch {
    return { finalMessage: stdout };
  }
}

function safeClassify(adapter: AgentAdapter, run: ClassifyInput): ExitClassification {
  try {
    return adapter.classify(run);
  } catch {
    return { exit: run.exitCode === 0 ? "ok" : "failed" };
  }
}

function spawnError(
  adapter: AgentAdapter,
  agent: string,
  file: string,
  result: { code?: string | undefined; message?: string | undefined },
): string {
  const hint = adapter.installHint ? `; ${adapter.installHint}` : "";
  const where = file.includes("/") ? "" : " on PATH";
  if (result.code === "ENOENT") return `agent ${agent}: \`${file}\` was not found${where}${hint}`;
  if (result.code === "EACCES") return `agent ${agent}: \`${file}\` is not executable${hint}`;
  return `agent ${agent}: could not start '${file}': ${result.message ?? result.code ?? "unknown error"}`;
}

/** agent.log, written as output arrives, that stops at a size cap and says how much it left out. */
class CappedLog {
  readonly #stream: WriteStream;
  readonly #maxBytes: number;
  #written = 0;
  #skipped = 0;

  constructor(path: string, maxBytes: number) {
    this.#stream = createWriteStream(path);
    this.#maxBytes = maxBytes;
    // A failing log disk must not take the run down; the in-memory tail still has the end.
    this.#stream.on("error", () => {});
  }

  write(chunk: Buffer): void {
    const room = this.#maxBytes - this.#written;
    const kept = chunk.length <= room ? chunk : chunk.subarray(0, Math.max(0, room));
    if (kept.length > 0) this.#stream.write(kept);
    this.#written += kept.length;
    this.#skipped += chunk.length - kept.length;
  }

  close(): Promise<void> {
    if (this.#skipped > 0) {
      this.#stream.write(
        `\n[drover: agent.log stopped at ${this.#maxBytes} bytes; ${this.#skipped} more bytes were not written]\n`,
      );
    }
    this.#stream.end();
    return finished(this.#stream).catch(() => {});
  }
}
