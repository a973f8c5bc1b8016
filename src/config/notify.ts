import { createHash } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { EVENT_FAMILIES, EVENT_TYPES } from "../lib/event-types.ts";

/** How a webhook's body is shaped: Drover's own JSON, or what Slack's and Discord's incoming webhooks take. */
export const NOTIFY_FORMATS = ["json", "slack", "discord"] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

/**
 * The events a target gets when it names none: the moments a person acts on or wants to hear of (a pull
 * request to review, a task finished, failed, stuck on a question, or in conflict with its base). Not
 * `task.ready`, `task.queued` or `task.started`, which come for every task and every attempt.
 */
export const DEFAULT_NOTIFY_EVENTS = [
  "task.review",
  "task.completed",
  "task.failed",
  "task.blocked",
  "task.conflict",
] as const;

/** One outgoing webhook, as drover.yml's `notify` and DROVER_NOTIFY are read. */
export type NotifyTarget = { url: string; events: string[]; format: NotifyFormat };

const EXAMPLE = "e.g. - url: https://hooks.slack.com/services/T0/B0/XYZ";
const KNOWN_TYPES = [...EVENT_FAMILIES, ...EVENT_TYPES].join(", ");

/**
 * A target's url. Only https, so what Drover sends (task titles, links) is not readable on the way;
 * plain http only where the operator allows private receivers (`allowHttp`: DROVER_NOTIFY with
 * DROVER_NOTIFY_PRIVATE=allow). No `user:password@`: the receiver checks X-Drover-Signature-256 instead,
 * and credentials in the url would be shown wherever the target is.
 */
function targetUrl(allowHttp: boolean) {
  return z.string({ error: `expected a url, ${EXAMPLE}` }).transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: `is not a url; ${EXAMPLE}` });
      return z.NEVER;
    }
    const schemes = allowHttp ? ["https:", "http:"] : ["https:"];
    if (!schemes.includes(url.protocol)) {
      ctx.addIssue({
        code: "custom",
        message:
          url.protocol === "http:"
            ? "must use https (webhooks carry task titles and links); plain http is accepted only in the deployment's DROVER_NOTIFY with DROVER_NOTIFY_PRIVATE=allow"
            : `must be an https url, not ${url.protocol.replace(":", "")}; ${EXAMPLE}`,
      });
      return z.NEVER;
    }
    if (url.username || url.password) {
      ctx.addIssue({
        code: "custom",
        message:
          "holds credentials (user:password@); remove them: a receiver verifies Drover by X-Drover-Signature-256 (DROVER_NOTIFY_SECRET)",
      });
      return z.NEVER;
    }
    return url.toString();
  });
}

const events = z
  .array(z.string({ error: "expected an event type such as task.failed" }), {
    error: "expected a list of event types, e.g. events: [task.failed, task.review]",
  })
  .min(1, { error: "lists no event; leave it out for the default, or name some, e.g. [task.failed]" })
  .superRefine((types, ctx) => {
    types.forEach((type, index) => {
      if (!(EVENT_TYPES as readonly string[]).includes(type) && !EVENT_FAMILIES.includes(type))
        ctx.addIssue({
          code: "custom",
          path: [index],
          message: `${JSON.stringify(type)} is not an event Drover sends; expected one of ${KNOWN_TYPES}`,
        });
    });
  });

/** drover.yml's `notify` (and DROVER_NOTIFY): a list of `{ url, events?, format? }`. */
export function notifyTargets(rules: { allowHttp: boolean }) {
  return z
    .array(
      z
        .object({
          url: targetUrl(rules.allowHttp),
          events: events.default([...DEFAULT_NOTIFY_EVENTS]),
          format: z
            .enum(NOTIFY_FORMATS, { error: `expected ${NOTIFY_FORMATS.join(", ")} (default json)` })
            .default("json"),
        })
        .strict(),
      { error: `expected a list of targets, ${EXAMPLE}` },
    )
    .max(10, { error: "lists more than 10 targets; one receiver can fan out to more" })
    .default([]);
}

/**
 * Reads DROVER_NOTIFY (JSON or YAML, the same list as drover.yml's `notify`). Throws one line naming what
 * is wrong, for the worker to stop with.
 */
export function parseNotifyEnv(text: string | undefined, allowPrivate: boolean): NotifyTarget[] {
  if (text === undefined || text.trim() === "") return [];
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new Error(`DROVER_NOTIFY is neither JSON nor YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  const result = notifyTargets({ allowHttp: allowPrivate }).safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = ["DROVER_NOTIFY", ...(issue?.path ?? [])].join(".");
  throw new Error(`${key} ${issue?.message ?? "is invalid"}`);
}

/** Whether `target` wants events of `type` (its types, or their families). */
export function wantsEvent(target: Pick<NotifyTarget, "events">, type: string): boolean {
  return target.events.some((wanted) => wanted === type || type.startsWith(`${wanted}.`));
}

/** The same target named in two places (two tasks' configs, DROVER_NOTIFY) is one target: one delivery. */
export function targetKey(target: Pick<NotifyTarget, "url" | "format">): string {
  return createHash("sha256").update(`${target.format} ${target.url}`).digest("hex");
}

/**
 * The target as it may be shown to anyone who can read the repository (the dashboard): its host and first
 * path segment. Slack's and Discord's webhook urls are their own secret, in the path.
 */
export function shownTarget(url: string): string {
  const parsed = new URL(url);
  const first = parsed.pathname.split("/").filter(Boolean)[0];
  const more = parsed.pathname.split("/").filter(Boolean).length > 1 || parsed.search !== "";
  return `${parsed.origin}${first ? `/${first}` : ""}${more ? "/…" : ""}`;
}

/** The target for the operator's log: without its query (where some receivers take a token). */
export function loggedTarget(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
