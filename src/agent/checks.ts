import { execa } from "execa";
import { TailBuffer } from "./tail-buffer.ts";

/**
 * The repository's `checks` (drover.yml), run in the worktree after the agent: each command through
 * `/bin/sh -c` (they are the repository's own, written like CI steps), in its own process group, with
 * the agent's environment (no token reaches them), a timeout and a bounded output tail.
 */

import { CheckResult } from "../db/run-results.ts";

export { CheckResult };
export type CheckOutcome = CheckResult["outcome"];

/** One of the repository's checks: a shell command and how long it may run. */
export type Check = { command: string; timeoutMs: number };

export interface RunChecksInput {
  checks: readonly Check[];
  cwd: string;
  env: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Output kept per command. Default 16 KiB. */
  maxOutputBytes?: number;
  /** Between SIGTERM and SIGKILL to the group. Default 5 s. */
  killGraceMs?: number;
  /** Run as this operating-system user, as the agent ran (DROVER_AGENT_USER). */
  runAs?: { uid: number; gid: number } | undefined;
}

/** Runs every check in order (all of them, so the table shows each), stopping only when cancelled. */
export async function runChecks(input: RunChecksInput): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of input.checks) {
    if (input.signal?.aborted) {
      results.push({
        command: check.command,
        outcome: "cancelled",
        exitCode: null,
        durationMs: 0,
        outputTail: "",
      });
      continue;
    }
    results.push(await runCheck(check, input));
  }
  return results;
}

/**
 * One shell command in `cwd`, in its own process group, killed (the whole group) at its timeout or when
 * cancelled; its outcome and the tail of its output. Also runs the repository's `setup` (src/agent/setup.ts).
 */
export async function runCheck(
  { command, timeoutMs }: Check,
  input: Omit<RunChecksInput, "checks">,
): Promise<CheckResult> {
  const started = performance.now();
  const tail = new TailBuffer(input.maxOutputBytes ?? 16 * 1024);
  const subprocess = execa("/bin/sh", ["-c", command], {
    cwd: input.cwd,
    env: input.env,
    extendEnv: false,
    detached: true,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
    ...(input.runAs ? { uid: input.runAs.uid, gid: input.runAs.gid } : {}),
  });
  for (const stream of [subprocess.stdout, subprocess.stderr])
    stream?.on("data", (chunk: Buffer) => tail.push(chunk));
  const pid = subprocess.pid;
  let stoppedFor: "timed-out" | "cancelled" | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: "timed-out" | "cancelled") => {
    if (stoppedFor || pid === undefined) return;
    stoppedFor = why;
    signalGroup(pid, "SIGTERM");
    killTimer = setTimeout(() => signalGroup(pid, "SIGKILL"), input.killGraceMs ?? 5000);
  };
  const timer = setTimeout(() => stop("timed-out"), timeoutMs);
  const onAbort = () => stop("cancelled");
  input.signal?.addEventListener("abort", onAbort, { once: true });
  subprocess.once("exit", () => {
    if (pid !== undefined) signalGroup(pid, "SIGKILL");
  });
  const result = await subprocess;
  clearTimeout(timer);
  clearTimeout(killTimer);
  input.signal?.removeEventListener("abort", onAbort);
  const exitCode = result.exitCode ?? null;
  return {
    command,
    outcome: stoppedFor ?? (exitCode === 0 ? "passed" : "failed"),
    exitCode,
    durationMs: Math.round(performance.now() - started),
    outputTail: pid === undefined ? `could not start /bin/sh: ${result.message}` : tail.toString(),
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}
