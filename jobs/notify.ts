import { createHmac } from "node:crypto";
import { loggedTarget, parseNotifyEnv, targetKey } from "../src/config/notify.ts";
import { deliveryToSend, recordTry, type DeliveryToSend } from "../src/db/notify.ts";
import { postWebhook, RefusedTargetError } from "../src/lib/post-webhook.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import { notificationLinks, renderNotification } from "../src/report/notify-format.ts";
import { eventTargets } from "../src/scheduler/notifier.ts";
import type { JobContext, JobDeps } from "./deps.ts";

/** How long a receiver has to answer (GitHub gives its own webhooks' receivers 10 s too). */
export const NOTIFY_TIMEOUT_MS = 10_000;

/** A receiver that did not take the webhook: its answer, or why there was none. */
export class NotifyFailedError extends Error {
  override name = "NotifyFailedError";
  constructor(
    message: string,
    /** The receiver's HTTP status; null when it did not answer. */
    readonly answered: number | null,
  ) {
    super(message);
  }
}

/**
 * Sends one outgoing webhook (a notify_deliveries row) once. A 2xx answer delivers it; anything else is
 * recorded on the row (tries, status, a short error) and thrown, so the queue tries again with backoff; on
 * the last try the row is marked failed and the operator warned. A target Drover may not call (a private
 * address) fails at once: waiting will not change it.
 */
export async function notify(
  deps: JobDeps,
  payload: { notifyDeliveryId: number },
  context: Pick<JobContext, "fate" | "signal">,
): Promise<void> {
  const delivery = await deliveryToSend(deps.db, payload.notifyDeliveryId);
  if (!delivery || delivery.state === "delivered") return;
  const log = deps.log.child({ notifyDelivery: delivery.id, event: delivery.event.type });
  const url = targetUrl(deps, delivery);
  if (!url) {
    await recordTry(deps.db, delivery.id, {
      kind: "failed",
      status: null,
      error: "its target is no longer configured",
      final: true,
    });
    log.warn("outgoing webhook dropped: its target is no longer configured");
    return;
  }
  const body = renderNotification(delivery.format, {
    event: delivery.event,
    task: delivery.task,
    links: notificationLinks(delivery.event, delivery.task?.prNumber ?? null, {
      webUrl: deps.env.GITHUB_WEB_URL ?? "https://github.com",
      publicUrl: deps.env.DROVER_PUBLIC_URL,
    }),
  });
  const sent = await send(deps, url, body, delivery, context.signal);
  if (typeof sent === "number") {
    await recordTry(deps.db, delivery.id, { kind: "delivered", status: sent });
    return;
  }
  const failure = sent;
  const final = context.fate(failure).kind === "final";
  await recordTry(deps.db, delivery.id, {
    kind: "failed",
    status: failure instanceof NotifyFailedError ? failure.answered : null,
    error: failure.message,
    final,
  });
  if (final)
    log.warn(
      {
        target: loggedTarget(url),
        status: failure instanceof NotifyFailedError ? failure.answered : null,
        tries: delivery.tries + 1,
        err: failure.message,
      },
      "outgoing webhook failed for good",
    );
  throw failure;
}

/** Posts the body: the receiver's 2xx status when it took it, else the error to record and throw. */
async function send(
  deps: JobDeps,
  url: string,
  body: string,
  delivery: DeliveryToSend,
  signal: AbortSignal | undefined,
): Promise<number | Error> {
  try {
    const answer = await postWebhook(url, body, headers(deps, delivery, body), {
      allowPrivate: deps.env.DROVER_NOTIFY_PRIVATE === "allow",
      timeoutMs: NOTIFY_TIMEOUT_MS,
      signal,
    });
    if (answer.status >= 200 && answer.status < 300) return answer.status;
    const redirect = answer.status >= 300 && answer.status < 400 ? " (a redirect; not followed)" : "";
    return new NotifyFailedError(`the receiver answered ${answer.status}${redirect}`, answer.status);
  } catch (error) {
    if (error instanceof RefusedTargetError) {
      const permanent = new PermanentJobError(`refused: ${error.message}`);
      permanent.cause = error;
      return permanent;
    }
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return new NotifyFailedError(`no answer: ${reason}`, null);
  }
}

let warnedUnsigned = false;

/**
 * As GitHub sends its own webhooks: the event's type, the delivery's id, and (with DROVER_NOTIFY_SECRET)
 * `sha256=` and the body's HMAC-SHA256 in hex, which a receiver computes again to know the body is Drover's.
 */
function headers(deps: JobDeps, delivery: DeliveryToSend, body: string): Record<string, string> {
  const secret = deps.env.DROVER_NOTIFY_SECRET;
  if (!secret && !warnedUnsigned) {
    // Once per process, not per delivery: a receiver cannot tell these webhooks from anyone's.
    warnedUnsigned = true;
    deps.log.warn("DROVER_NOTIFY_SECRET is not set: outgoing webhooks are sent unsigned");
  }
  return {
    "Content-Type": "application/json",
    "User-Agent": "Drover",
    "X-Drover-Event": delivery.event.type,
    "X-Drover-Delivery": String(delivery.id),
    ...(secret
      ? { "X-Drover-Signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}` }
      : {}),
  };
}

/** The row's url, found by its key among the targets its event has now (DROVER_NOTIFY's, the task's). */
function targetUrl(deps: JobDeps, delivery: DeliveryToSend): string | null {
  const envTargets = parseNotifyEnv(deps.env.DROVER_NOTIFY, deps.env.DROVER_NOTIFY_PRIVATE === "allow");
  const target = eventTargets(delivery.event, delivery.taskConfig, envTargets).find(
    (candidate) => targetKey(candidate) === delivery.targetKey,
  );
  return target?.url ?? null;
}
