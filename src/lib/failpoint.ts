import { closeSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";

/**
 * Crash points for the durability tests: `DROVER_FAILPOINTS=after-push@acme/app,...` makes a worker kill
 * itself (SIGKILL, as `kill -9` would) the first time a task of `acme/app` passes `after-push`. "First"
 * is kept across processes by a marker file in `DROVER_FAILPOINT_DIR`, so the worker that takes the task
 * over passes the same point. Unset (always, outside tests), this does nothing.
 */
export type FailpointName =
  | "after-worktree"
  | "after-agent"
  | "after-judge"
  | "after-push"
  | "after-conclude"
  | "after-pull-request"
  | "after-check-run";

export function failpoint(name: FailpointName, repoFullName: string): void {
  const spec = process.env.DROVER_FAILPOINTS;
  if (!spec) return;
  const armed = spec.split(",").some((entry) => entry.trim() === `${name}@${repoFullName}`);
  if (!armed) return;
  const dir =
    process.env.DROVER_FAILPOINT_DIR ?? path.join(process.env.DROVER_HOME ?? ".drover", "failpoints");
  mkdirSync(dir, { recursive: true });
  try {
    closeSync(openSync(path.join(dir, `${name}@${repoFullName.replace("/", "-")}`), "wx"));
  } catch {
    return; // fired once already
  }
  process.stderr.write(`drover: failpoint ${name}@${repoFullName}: killing this worker\n`);
  process.kill(process.pid, "SIGKILL");
}
