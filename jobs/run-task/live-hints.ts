import { liveHintMessage } from "../../src/agent/prompt.ts";
import { hintsAfter, markGivenLive } from "../../src/db/hints.ts";
import { recordEvent } from "../../src/db/events.ts";
import type { JobDeps } from "../deps.ts";
import type { Run } from "./run.ts";

/** How often a running agent that reads input is given the hints people added since its prompt. */
const LIVE_HINTS_MS = 1_000;

/**
 * For an agent that reads input while it runs: every second, the task's `/drover hint`s newer than its
 * prompt are given to it (with their authors), marked as given (the status comment says so) and recorded
 * as `hint.delivered`. A hint the agent can no longer read (it had answered everything and ended) is left
 * for the next attempt, whose prompt has every hint anyway. Returns the function that stops it.
 */
export function giveHintsLive(
  deps: Pick<JobDeps, "db" | "log">,
  run: Pick<Run, "task" | "attempt" | "log">,
  deliver: (text: string) => boolean,
  afterId: number,
): () => void {
  let seen = afterId;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      for (const hint of await hintsAfter(deps.db, run.task.id, seen)) {
        seen = hint.id;
        if (!deliver(liveHintMessage({ author: hint.author, body: hint.body, at: hint.createdAt }))) continue;
        await markGivenLive(deps.db, hint.id);
        await recordEvent(deps.db, {
          taskId: run.task.id,
          type: "hint.delivered",
          actor: hint.author,
          data: { hintId: hint.id, attempt: run.attempt.number },
        });
        run.log.info({ hintId: hint.id, author: hint.author }, "hint given to the running agent");
      }
    })()
      .catch((error: unknown) => run.log.warn({ err: error }, "could not give hints to the running agent"))
      .finally(() => (busy = false));
  }, LIVE_HINTS_MS);
  timer.unref();
  return () => clearInterval(timer);
}
