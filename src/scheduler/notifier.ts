import type { Logger } from "pino";
import { shownTarget, targetKey, wantsEvent, type NotifyTarget } from "../config/notify.ts";
import { taskConfigOrDefaults } from "../config/stored.ts";
import type { Database, Db } from "../db/client.ts";
import { listenForEvents, type DroverEvent } from "../db/events.ts";
import { dispatchEvents, stalePendingDeliveries } from "../db/notify.ts";
import type { Enqueue } from "../queue/job-catalog.ts";

/** Besides each wake from `drover_events`, a pass this often: a notification lost on reconnect is not lost work. */
export const NOTIFY_EVERY_MS = 30_000;

/** A pending delivery untouched this long may have lost its job (Redis emptied): queued again. */
export const NOTIFY_STALE_MS = 60_000;

/** How soon a pass that found another worker dispatching looks again. */
const BUSY_RETRY_MS = 1_000;

export type NotifierDeps = {
  db: Db;
  /** The client to LISTEN with (one connection for the process's notifier). */
  sqlClient: Database["sql"];
  enqueue: Enqueue;
  log: Logger;
  /** DROVER_NOTIFY, read (src/config/notify.ts parseNotifyEnv): every repository's targets. */
  targets: readonly NotifyTarget[];
};

export type NotifierOptions = {
  /** [NOTIFY_EVERY_MS] */
  everyMs?: number;
  /** [NOTIFY_STALE_MS] */
  staleAfterMs?: number;
  /** The notify job's first retry waits this long instead of the catalog's (tests). */
  retryBackoffMs?: number;
};

/**
 * The targets an event is owed to: DROVER_NOTIFY's and those of its task's recorded drover.yml that want
 * its type, each once (the same url and format named twice is one target). `taskConfig`: the task's
 * `tasks.config`, null for an event of no task.
 */
export function eventTargets(
  event: Pick<DroverEvent, "type">,
  taskConfig: unknown,
  envTargets: readonly NotifyTarget[],
): NotifyTarget[] {
  const own =
    taskConfig === null || taskConfig === undefined
      ? []
      : taskConfigOrDefaults({ id: 0, config: taskConfig }).notify;
  const byKey = new Map<string, NotifyTarget>();
  for (const target of [...envTargets, ...own])
    if (wantsEvent(target, event.type) && !byKey.has(targetKey(target))) byKey.set(targetKey(target), target);
  return [...byKey.values()];
}

/**
 * One pass: every event after the cursor gets its delivery rows (src/db/notify.ts dispatchEvents, under
 * the dispatch lock, so one worker at a time) and each new row its job; then pending rows whose job may be
 * lost are queued again. Null when another worker was dispatching (it queues what it made).
 */
export async function notifyPass(
  deps: Omit<NotifierDeps, "sqlClient">,
  options: NotifierOptions = {},
): Promise<{ queued: number; requeued: number } | null> {
  const jobOptions = options.retryBackoffMs === undefined ? undefined : { backoffMs: options.retryBackoffMs };
  let queued = 0;
  for (;;) {
    const step = await dispatchEvents(deps.db, (event) =>
      eventTargets(event, event.taskConfig, deps.targets).map((target) => ({
        key: targetKey(target),
        shown: shownTarget(target.url),
        format: target.format,
      })),
    );
    if (!step) return null;
    // Rows are committed before their jobs are queued: a crash between the two leaves rows the stale pass
    // below queues a minute later, never a job without a row.
    for (const id of step.created) await deps.enqueue("notify", { notifyDeliveryId: id }, jobOptions);
    queued += step.created.length;
    if (!step.more) break;
  }
  const stale = await stalePendingDeliveries(deps.db, options.staleAfterMs ?? NOTIFY_STALE_MS);
  for (const id of stale) await deps.enqueue("notify", { notifyDeliveryId: id }, jobOptions);
  return { queued, requeued: stale.length };
}

/**
 * Each worker process runs a notifier: a pass on every commit that wrote events (`drover_events`) and every
 * `everyMs`. Passes of one process never overlap; a wake during a pass runs one more after it.
 */
export async function startNotifier(
  deps: NotifierDeps,
  options: NotifierOptions = {},
): Promise<{ stop: () => Promise<void> }> {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const wake = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    again = false;
    running = notifyPass(deps, options)
      .then((result) => {
        // Another worker was dispatching, perhaps from before the commit that woke this one: look again soon
        // rather than at the next timer.
        if (!result) setTimeout(wake, BUSY_RETRY_MS).unref();
        else if (result.queued + result.requeued > 0) deps.log.debug(result, "outgoing webhooks queued");
      })
      .catch((error: unknown) => deps.log.warn({ err: error }, "notify pass failed; trying again later"))
      .finally(() => {
        running = null;
        if (again) wake();
      });
  };
  const unlisten = await listenForEvents(deps.sqlClient, wake);
  wake();
  const timer = setInterval(wake, options.everyMs ?? NOTIFY_EVERY_MS);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await unlisten().catch(() => {});
      await running;
    },
  };
}
