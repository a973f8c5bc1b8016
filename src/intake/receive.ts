import type { Logger } from "pino";
import type { Db } from "../db/client.ts";
import {
  getDelivery,
  markDeliveryDispatched,
  markDeliveryProcessed,
  recordDelivery,
  unfinishedDeliveryIds,
} from "../db/deliveries.ts";
import {
  markInstallationRepositoriesRemoved,
  markRepositoriesAdded,
  markRepositoriesRemoved,
  setInstallationStatus,
  upsertInstallation,
} from "../db/repositories.ts";
import { retryTransient } from "../db/transient.ts";
import { SpanKind, annotate, traced } from "../lib/trace.ts";
import type { Enqueue } from "../queue/job-catalog.ts";
import type { InstalledRepository } from "./payloads.ts";
import { routeWebhook, type Route } from "./route.ts";

export type IntakeDeps = {
  db: Db;
  enqueue: Enqueue;
  log: Logger;
  /** How long intake waits for Redis before answering anyway. Default 2 s. */
  dispatchTimeoutMs?: number;
  /** How long intake keeps trying to record a delivery while PostgreSQL is out of reach. Default 5 s. */
  databaseWaitMs?: number;
  /**
   * Drover's own bot login (`<app-slug>[bot]`): webhooks its own writes cause are dropped at routing where
   * they carry no news (see route.ts). Unknown, they are treated as another bot's (each costs a job, no
   * request).
   */
  botLogin?: string;
};

/**
 * A Redis that is down or restarting makes queue writes wait (the client queues them offline), but
 * GitHub gives up on a webhook after 10 s: past this, intake answers with the delivery recorded, and
 * the workers' watchdog queues it (job ids make a late second dispatch harmless).
 */
const DISPATCH_TIMEOUT_MS = 2_000;

/** With the dispatch timeout, still well inside GitHub's 10 s. */
const DATABASE_WAIT_MS = 5_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the queue did not answer within ${ms} ms`)), ms);
  });
  work.catch(() => {}); // a late failure after the timeout is the watchdog's to mend
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
export type WebhookDelivery = {
  id: string;
  name: string;
  payload: unknown;
  /** The body as received, recorded as is; without it (a delivery made in process) the payload's JSON. */
  body?: string;
};
export type IntakeOutcome = "queued" | "recorded" | "duplicate" | "ignored" | "invalid" | "installation";
/** What intake did with a delivery; `why` says why it was ignored or refused as invalid. */
export type Received = { outcome: IntakeOutcome; why?: string };

/**
 * Webhook → record → enqueue, and nothing slow: the delivery is stored in PostgreSQL first (its id makes
 * a redelivery a no-op), then a job is queued. When Redis is down the delivery stays recorded and
 * unprocessed, and the workers' watchdog (every 10 s) queues it; GitHub still gets its 2xx.
 */
export async function receiveWebhook(deps: IntakeDeps, delivery: WebhookDelivery): Promise<Received> {
  // The trace's root when tracing is on: the jobs queued here carry it on (src/queue/job-catalog.ts).
  const attributes = { "drover.delivery_id": delivery.id, "drover.event": delivery.name };
  return traced(
    "drover.intake",
    attributes,
    async () => {
      const received = await receive(deps, delivery);
      annotate({ "drover.outcome": received.outcome });
      return received;
    },
    SpanKind.SERVER,
  );
}

async function receive(deps: IntakeDeps, delivery: WebhookDelivery): Promise<Received> {
  const log = deps.log.child({ deliveryId: delivery.id, event: delivery.name });
  const route = routeWebhook(delivery.name, delivery.payload, { botLogin: deps.botLogin });
  switch (route.kind) {
    case "ignore":
      log.debug({ why: route.why }, "webhook ignored");
      return { outcome: "ignored", why: route.why };
    case "invalid":
      // The caller answers and logs the refusal (the web endpoint: one line, with the sender's address).
      return { outcome: "invalid", why: route.why };
    case "installation": {
      const { installation, action } = route.event;
      if (action === "created" || action === "new_permissions_accepted") {
        await retryTransient(() =>
          upsertInstallation(deps.db, {
            id: installation.id,
            accountLogin: installation.account?.login ?? "unknown",
            accountType: installation.account?.type ?? "User",
          }),
        );
      } else {
        const status = action === "deleted" ? "deleted" : action === "suspend" ? "suspended" : "active";
        await retryTransient(() => setInstallationStatus(deps.db, installation.id, status));
        if (action === "deleted")
          await retryTransient(() => markInstallationRepositoriesRemoved(deps.db, installation.id));
      }
      // Installed again after an uninstall: its repositories are no longer removed.
      await retryTransient(() => markRepositoriesAdded(deps.db, idsOf(route.added)));
      await warmInstalled(deps, log, delivery.id, installation.id, route.added);
      log.info({ installationId: installation.id, action }, "installation recorded");
      return { outcome: "installation" };
    }
    case "repositories": {
      await retryTransient(() => markRepositoriesRemoved(deps.db, idsOf(route.removed)));
      await retryTransient(() => markRepositoriesAdded(deps.db, idsOf(route.added)));
      await warmInstalled(deps, log, delivery.id, route.installationId, route.added);
      log.info(
        { installationId: route.installationId, added: route.added.length, removed: route.removed.length },
        "installation's repositories recorded",
      );
      return { outcome: "installation" };
    }
    case "dispatch": {
      annotate({ "drover.repo": route.repoFullName });
      // PostgreSQL restarting (a second or two) delays the answer rather than failing it: GitHub waits 10 s.
      const fresh = await retryTransient(
        () =>
          recordDelivery(deps.db, {
            id: delivery.id,
            event: delivery.name,
            action: (delivery.payload as { action: string }).action,
            installationId: route.installationId,
            repoFullName: route.repoFullName,
            payload: delivery.payload,
            ...(delivery.body === undefined ? {} : { body: delivery.body }),
          }),
        { forMs: deps.databaseWaitMs ?? DATABASE_WAIT_MS },
      );
      if (!fresh) {
        log.info("duplicate delivery ignored");
        return { outcome: "duplicate" };
      }
      try {
        await withTimeout(
          dispatchDelivery(deps, delivery.id, route),
          deps.dispatchTimeoutMs ?? DISPATCH_TIMEOUT_MS,
        );
      } catch (error) {
        log.error({ err: error }, "delivery recorded but not queued; the workers' watchdog queues it");
        return { outcome: "recorded" };
      }
      log.info({ jobs: route.jobs, syncs: route.syncs.length, repo: route.repoFullName }, "delivery queued");
      return { outcome: "queued" };
    }
  }
}

/** BullMQ's priority for the mirrors of repositories just installed: after anything queued without one. */
const INSTALLED_PRIORITY = 10;

function idsOf(repositories: InstalledRepository[]): number[] {
  return repositories.map((repository) => repository.id);
}

/**
 * The app installed on `repositories`: each one's mirror is made in the background (warm-pool), so its
 * first task does not wait for a clone. Not recorded as a delivery, so Redis out of reach loses these
 * jobs; that costs only the head start (a repository's first task queues the same job), so intake answers
 * anyway.
 */
async function warmInstalled(
  deps: IntakeDeps,
  log: Logger,
  deliveryId: string,
  installationId: number,
  repositories: InstalledRepository[],
): Promise<void> {
  if (repositories.length === 0) return;
  // After the warm lane's other work: an organisation's hundreds of first clones must not hold up a push
  // to a repository with tasks, or the refill after a claim.
  const queue = async () => {
    for (const repository of repositories)
      await deps.enqueue(
        "warm-pool",
        {
          repoId: repository.id,
          cause: `install-${deliveryId}`,
          installationId,
          repoFullName: repository.full_name,
        },
        { priority: INSTALLED_PRIORITY },
      );
  };
  try {
    await withTimeout(queue(), deps.dispatchTimeoutMs ?? DISPATCH_TIMEOUT_MS);
  } catch (error) {
    log.warn({ err: error }, "installed repositories' mirrors not queued; their first tasks queue them");
  }
}

/**
 * Queues the jobs a recorded delivery calls for, then marks it dispatched. Job ids come from the delivery
 * id, so dispatching again (after Redis lost the jobs, or was down) never doubles work.
 */
export async function dispatchDelivery(
  deps: Pick<IntakeDeps, "db" | "enqueue">,
  deliveryId: string,
  route: Extract<Route, { kind: "dispatch" }>,
): Promise<void> {
  for (const job of route.jobs) await deps.enqueue(job, { deliveryId });
  for (const [i, { fromDelivery, ...target }] of route.syncs.entries()) {
    await deps.enqueue("sync-issue", {
      installationId: route.installationId,
      ...target,
      cause: `${deliveryId}-${i}`,
      ...(fromDelivery ? { deliveryId } : {}),
    });
  }
  await markDeliveryDispatched(deps.db, deliveryId, route.jobs.length === 0);
}

/**
 * Deliveries recorded but not dispatched (Redis was down, or the web process died between recording and
 * queueing), older than `graceMs` so the intake still queueing them is left to it: queued again.
 */
export async function redispatchUnfinished(
  deps: Pick<IntakeDeps, "db" | "enqueue" | "botLogin">,
  graceMs = 5_000,
): Promise<number> {
  const pending = await unfinishedDeliveryIds(deps.db, new Date(Date.now() - graceMs));
  for (const id of pending) {
    const delivery = await getDelivery(deps.db, id);
    if (!delivery) continue;
    const route = routeWebhook(delivery.event, delivery.payload, { botLogin: deps.botLogin });
    if (route.kind === "dispatch") await dispatchDelivery(deps, delivery.id, route);
    // Recorded before intake refused such payloads (an issue number past 32 bits): nothing to queue, ever.
    else await markDeliveryProcessed(deps.db, delivery.id, `not dispatched: ${route.kind}`);
  }
  return pending.length;
}
