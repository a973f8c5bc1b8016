import type { NotifyFormat } from "../config/notify.ts";
import type { DroverEvent } from "../db/events.ts";

/** What an outgoing webhook tells of one event. */
export type Notification = {
  event: DroverEvent;
  /** The event's task when it has one: its title and state now (not necessarily the event's). */
  task: { title: string; state: string } | null;
  links: NotificationLinks;
};

export type NotificationLinks = {
  /** The issue on GitHub (or the Enterprise server). */
  issue?: string;
  /** The task's pull request, when the event or the task names one. */
  pullRequest?: string;
  /** The task's page on Drover's dashboard, when DROVER_PUBLIC_URL is set. */
  dashboard?: string;
};

/**
 * Links for an event: `webUrl` is GitHub's web address (GITHUB_WEB_URL), `publicUrl` Drover's own
 * (DROVER_PUBLIC_URL, unset: no dashboard link).
 */
export function notificationLinks(
  event: Pick<DroverEvent, "repo" | "issue" | "data">,
  prNumber: number | null,
  urls: { webUrl: string; publicUrl?: string | undefined },
): NotificationLinks {
  if (!event.repo) return {};
  const web = urls.webUrl.replace(/\/+$/, "");
  const links: NotificationLinks = {};
  const pr = typeof event.data.pr === "number" ? event.data.pr : prNumber;
  if (event.issue !== null) links.issue = `${web}/${event.repo}/issues/${event.issue}`;
  if (pr !== null) links.pullRequest = `${web}/${event.repo}/pull/${pr}`;
  if (event.issue !== null && urls.publicUrl)
    links.dashboard = `${urls.publicUrl.replace(/\/+$/, "")}/drover/tasks/${event.repo}/${event.issue}`;
  return links;
}

/** The body to POST for `format`, as JSON text. */
export function renderNotification(format: NotifyFormat, notification: Notification): string {
  switch (format) {
    case "json":
      return JSON.stringify(jsonBody(notification));
    case "slack":
      return JSON.stringify(slackBody(notification));
    case "discord":
      return JSON.stringify(discordBody(notification));
  }
}

/**
 * The fields of an event's data a receiver is given: states, the pull request, what a person wrote. Others
 * (whatever a cause added) are left out: the body goes outside, and only these were chosen to.
 */
const SHOWN_DATA = ["from", "to", "reason", "pr", "kind", "note", "url"] as const;

function shownData(data: Record<string, unknown>): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const key of SHOWN_DATA) {
    const value = data[key];
    if (typeof value === "string") shown[key] = withoutPaths(value);
    else if (typeof value === "number" || typeof value === "boolean") shown[key] = value;
  }
  return shown;
}

/**
 * A reason may quote an error that names a file on the worker (`/var/lib/drover/runs/...`): a server path
 * says nothing to the receiver and something to an attacker. Absolute paths of two or more parts go; URLs
 * (`https://host/a/b`) and commands (`/drover retry`) stay.
 */
export function withoutPaths(text: string): string {
  return text.replace(/(?<![\w:/.~-])\/(?:[\w.@+-]+\/)+[\w.@+-]*/g, "…");
}

function jsonBody({ event, task, links }: Notification) {
  return {
    type: event.type,
    seq: event.seq,
    at: event.at,
    repo: event.repo,
    issue: event.issue,
    story: event.story,
    attempt: event.attempt,
    actor: event.actor,
    data: shownData(event.data),
    task: task ? { title: task.title, state: task.state } : null,
    links: {
      issue: links.issue ?? null,
      pull_request: links.pullRequest ?? null,
      dashboard: links.dashboard ?? null,
    },
  };
}

/** How each event reads in a chat message, after the task's name. */
const HEADLINES: Record<string, string> = {
  "task.ready": "is ready",
  "task.waiting": "waits for its blockers",
  "task.unblocked": "is unblocked",
  "task.queued": "is queued",
  "task.started": "started",
  "task.review": "has a pull request ready for review",
  "task.completed": "is done",
  "task.failed": "failed",
  "task.blocked": "needs a person",
  "task.retrying": "will be tried again",
  "task.retried": "was started again",
  "task.cancelled": "was cancelled",
  "task.paused": "was paused",
  "task.resumed": "was resumed",
  "task.conflict": "conflicts with its base branch",
  "task.hinted": "got a hint",
  "task.resolved": "was resolved by a person",
  "task.rework": "is being reworked after a review",
  "task.interrupted": "was interrupted",
  "attempt.stopped": "had its attempt stopped",
  "pr.opened": "opened a pull request",
  "pr.updated": "has its pull request updated",
  "pr.merged": "had its pull request merged",
  "pr.closed": "had its pull request closed",
  "pr.approved": "had its pull request approved",
  "pr.auto-merge": "will be merged automatically",
  "pr.merged-by-drover": "had its pull request merged by Drover",
  "base.moved": "saw its base branch move",
};

type Summary = { subject: string; headline: string; reason: string | null; title: string };

function summary({ event, task }: Notification): Summary {
  const where = event.repo ? `${event.repo}${event.issue === null ? "" : `#${event.issue}`}` : "Drover";
  const title = task?.title ?? where;
  const reason = typeof event.data.reason === "string" ? withoutPaths(event.data.reason) : null;
  return {
    subject: where,
    headline: HEADLINES[event.type] ?? event.type,
    reason,
    title,
  };
}

/** Slack's mrkdwn treats these three as markup: a title must not open a link or a mention. */
function slackEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** A section's text may hold at most 3,000 characters; `text` (the notification's fallback) 40,000. */
const SLACK_SECTION_MAX = 3_000;

function slackBody(notification: Notification) {
  const { subject, headline, reason, title } = summary(notification);
  const { links } = notification;
  const name = links.issue ? `<${links.issue}|${slackEscape(title)}>` : `*${slackEscape(title)}*`;
  const lines = [`${name}${title === subject ? "" : ` (${slackEscape(subject)})`} ${headline}.`];
  if (reason) lines.push(`> ${slackEscape(reason)}`);
  const more = [
    links.pullRequest ? `<${links.pullRequest}|Pull request>` : null,
    links.dashboard ? `<${links.dashboard}|Drover>` : null,
  ].filter(Boolean);
  if (more.length > 0) lines.push(more.join(" · "));
  return {
    text: `${title}${title === subject ? "" : ` (${subject})`} ${headline}.`,
    blocks: [{ type: "section", text: { type: "mrkdwn", text: cut(lines.join("\n"), SLACK_SECTION_MAX) } }],
  };
}

/** Discord's limits: content 2,000 characters; an embed's title 256, description 4,096, all 6,000. */
const DISCORD = { content: 2_000, title: 256, description: 4_096 } as const;

/** Discord's markdown, escaped in text taken from an issue, so a title cannot format or mention. */
function discordEscape(text: string): string {
  return text.replace(/([\\*_~`|>[\]()#@-])/g, "\\$1");
}

/** The embed's colour by outcome: green done, red failed, amber waiting on a person, blue otherwise. */
function discordColor(type: string): number {
  if (type === "task.completed" || type.startsWith("pr.merged")) return 0x2da44e;
  if (type === "task.failed") return 0xcf222e;
  if (type === "task.blocked" || type === "task.conflict") return 0xbf8700;
  return 0x0969da;
}

function discordBody(notification: Notification) {
  const { subject, headline, reason, title } = summary(notification);
  const { links, event } = notification;
  const description = [
    `${discordEscape(subject)} ${headline}.`,
    reason ? `> ${discordEscape(reason)}` : null,
    links.pullRequest ? `[Pull request](${links.pullRequest})` : null,
    links.dashboard ? `[Drover](${links.dashboard})` : null,
  ]
    .filter(Boolean)
    .join("\n");
  return {
    content: cut(`${discordEscape(title)} ${headline}.`, DISCORD.content),
    // Mentions in a title (`@everyone`) must not ping anyone.
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: cut(title, DISCORD.title),
        ...(links.issue ? { url: links.issue } : {}),
        description: cut(description, DISCORD.description),
        color: discordColor(event.type),
        timestamp: event.at,
        footer: { text: event.type },
      },
    ],
  };
}

/** `text` in at most `max` characters, ending in an ellipsis when cut. */
function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
