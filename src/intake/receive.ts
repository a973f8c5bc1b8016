import type { Logger } from "pino";
import type { Db } from "../db/client.ts";
import { recordDelivery } from "../db/deliveries.ts";
import { setInstallationStatus, upsertInstallation } from "../db/repositories.ts";
import type { Enqueue } from "../queue/catalog.ts";
import { routeWebhook } from "./route.ts";

export type IntakeDeps = { db: Db; enqueue: Enqueue; log: Logger };
export type WebhookDelivery = { id: string; name: string; payload: unknown };
export type IntakeOutcome = "queued" | "recorded" | "duplicate" | "ignored" | "invalid" | "installation";

/**
 * Webhook → record → enqueue, and nothing slow: the delivery is stored in PostgreSQL first (its id makes
 * a redelivery a no-op), then a job is queued. When Redis is down the delivery stays recorded and
 * unprocessed, and the worker's start-up pass queues it; GitHub still gets its 2xx.
 */
export async function receiveWebhook(deps: IntakeDeps, delivery: WebhookDelivery): Promise<IntakeOutcome> {
  const log = deps.log.child({ deliveryId: delivery.id, event: delivery.name });
  const route = routeWebhook(delivery.name, delivery.payload);
  switch (route.kind) {
    case "ignore":
      log.debug({ why: route.why }, "webhook ignored");
      return "ignored";
    case "invalid":
      log.warn({ why: route.why }, "webhook payload rejected");
      return "invalid";
    case "installation": {
      const { installation, action } = route.event;
      if (action === "created" || action === "new_permissions_accepted") {
        await upsertInstallation(deps.db, {
          id: installation.id,
          accountLogin: installation.account?.login ?? "unknown",
          accountType: installation.account?.type ?? "User",
        });
      } else {
        const status = action === "deleted" ? "deleted" : action === "suspend" ? "suspended" : "active";
        await setInstallationStatus(deps.db, installation.id, status);
      }
      log.info({ installationId: installation.id, action }, "installation recorded");
      return "installation";
    }
    case "job": {
      const fresh = await recordDelivery(deps.db, {
        id: delivery.id,
        event: delivery.name,
        action: (delivery.payload as { action: string }).action,
        installationId: route.installationId,
        repoFullName: route.repoFullName,
        payload: delivery.payload,
      });
      if (!fresh) {
        log.info("duplicate delivery ignored");
        return "duplicate";
      }
      try {
        await deps.enqueue(route.job, { deliveryId: delivery.id });
      } catch (error) {
        log.error(
          { err: error, job: route.job },
          "delivery recorded but not queued; it is queued again at worker start",
        );
        return "recorded";
      }
      log.info({ job: route.job, repo: route.repoFullName }, "delivery queued");
      return "queued";
    }
  }
}
