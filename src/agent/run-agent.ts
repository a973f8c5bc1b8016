import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { finished } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import { execa } from "execa";
import { agentNames, getAdapter, type AgentAdapter, type AgentReport } from "./adapters/index.ts";
import type { AgentOutcome } from "./judge.ts";
import { TailBuffer } from "./tail-buffer.ts";
import { parseVerdict, type AgentVerdict } from "./verdict.ts";

export interface AgentRunInput {
  /** Adapter name from drover.yml `agent` (claude, command). */
  agent: string;
  /** drover.yml `agent_command`, as argv. */
  agentCommand?: readonly string[] | undefined;
  /** drover.yml `agent_args`. */
  agentArgs?: readonly string[] | undefined;
  prompt: string;
  /** The worktree the agent works in. */
  cwd: string;
  /** A private directory outside the worktree for prompt.md and agent.log; created if missing. */
  workDir: string;
  timeoutMs: number;
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
}

export interface AgentRunResult {
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
  /** The agent reported an error of its own (Claude Code's `is_error`). */
  isError?: boolean;
  /** Why the agent could not start. */
  error?: string;
}

const KIB = 1024;
const MIB = 1024 * KIB;
/** The adapter parses the end of stdout; a Claude Code JSON result fits well within this. */
const STDOUT_TAIL_BYTES = MIB;

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

  const notStarted = (outcome: AgentOutcome, error?: string): AgentRunResult => ({
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

  const adapter = getAdapter(input.agent);
  if (!adapter) {
    return notStarted(
      "spawn-failed",
      `unknown agent ${JSON.stringify(input.agent)}; use one of ${agentNames.join(", ")}`,
    );
  }
  let invocation;
  try {
    invocation = adapter.build({
      prompt: input.prompt,
      promptFile,
      agentCommand: input.agentCommand,
      agentArgs: input.agentArgs ?? [],
    });
  } catch (error) {
    return notStarted("spawn-failed", (error as Error).message);
  }
  if (input.signal?.aborted) return notStarted("cancelled");

  const log = new CappedLog(logFile, input.maxLogFileBytes ?? 10 * MIB);
  const combined = new TailBuffer(input.maxLogBytes ?? 64 * KIB);
  const stdoutTail = new TailBuffer(STDOUT_TAIL_BYTES);
  let outputError: unknown;

  const subprocess = execa(invocation.file, invocation.args, {
    cwd: input.cwd,
    env: input.env,
    extendEnv: false,
    detached: true,
    input: invocation.stdin,
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
  });

  const emit = (text: string): void => {
    if (!input.onOutput || text === "" || outputError !== undefined) return;
    try {
      input.onOutput(text);
    } catch (error) {
      outputError = error;
    }
  };
  const decoders: StringDecoder[] = [];
  const watch = (stream: NodeJS.ReadableStream | null, isStdout: boolean): void => {
    const decoder = new StringDecoder("utf8");
    decoders.push(decoder);
    stream?.on("data", (data: Buffer | string) => {
      const chunk = typeof data === "string" ? Buffer.from(data) : data;
      combined.push(chunk);
      if (isStdout) stdoutTail.push(chunk);
      log.write(chunk);
      emit(decoder.write(chunk));
    });
  };
  watch(subprocess.stdout, true);
  watch(subprocess.stderr, false);

  const pid = subprocess.pid;
  let stoppedFor: "timed-out" | "cancelled" | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (reason: "timed-out" | "cancelled"): void => {
    if (stoppedFor || pid === undefined) return;
    stoppedFor = reason;
    signalGroup(pid, "SIGTERM");
    killTimer = setTimeout(() => signalGroup(pid, "SIGKILL"), input.killGraceMs ?? 5000);
  };
  const timeoutTimer = setTimeout(() => stop("timed-out"), input.timeoutMs);
  const onAbort = (): void => stop("cancelled");
  input.signal?.addEventListener("abort", onAbort, { once: true });
  subprocess.once("exit", () => {
    if (pid !== undefined) signalGroup(pid, "SIGKILL");
  });

  const result = await subprocess;
  clearTimeout(timeoutTimer);
  clearTimeout(killTimer);
  input.signal?.removeEventListener("abort", onAbort);
  for (const decoder of decoders) emit(decoder.end());
  await log.close();
  // onOutput is the caller's code; its failure is a programming error, not the agent's.
  if (outputError !== undefined) throw outputError;

  if (pid === undefined) {
    return {
      ...notStarted("spawn-failed", spawnError(adapter, input.agent, invocation.file, result)),
      logTail: combined.toString(),
    };
  }

  const stdout = stdoutTail.toString();
  const report = safeParse(adapter, stdout);
  let parsed = parseVerdict(report.finalMessage);
  if (parsed.verdict === null && report.finalMessage !== stdout) {
    const fallback = parseVerdict(stdout);
    if (fallback.verdict !== null) parsed = fallback;
  }

  const run: AgentRunResult = {
    outcome: stoppedFor ?? "exited",
    exitCode: result.exitCode ?? null,
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
  if (report.isError !== undefined) run.isError = report.isError;
  return run;
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

function spawnError(
  adapter: AgentAdapter,
  agent: string,
  file: string,
  result: { code?: string | undefined; message?: string | undefined },
): string {
  const hint = adapter.installHint ? `; ${adapter.installHint}` : "";
  const where = file.includes("/") ? "" : " on PATH";
  if (result.code === "ENOENT") return `agent ${agent}: program '${file}' was not found${where}${hint}`;
  if (result.code === "EACCES") return `agent ${agent}: program '${file}' is not executable${hint}`;
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
