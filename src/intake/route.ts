import type { z } from "zod";
import type { JobName } from "../queue/job-catalog.ts";
import { ALL_STATE_LABELS } from "../graph/transitions.ts";
import { hasCommand } from "../graph/commands.ts";
import { isBot } from "../lib/bots.ts";
import {
  DependencyChanged,
  InstallationEvent,
  IssueChanged,
  IssueClosed,
  IssueCommentCreated,
  IssueLabeled,
  IssueUnlabeled,
  PullRequestClosed,
  ReviewCommentCreated,
  ReviewSubmitted,
  SubIssueChanged,
} from "./payloads.ts";
import { repoOfUrl } from "../github/read-issues.ts";

/** The jobs that act on a delivery itself. */
export type DeliveryJob = Extract<JobName, "start-task" | "close-task" | "command" | "review">;

/** An issue to read again from GitHub; `links` also reads its dependencies, sub-issues and parent. */
export type SyncTarget = { repoFullName: string; number: number; links: boolean };

/** What a webhook means for Drover, decided from the payload alone (pure, no I/O). */
export type Route =
  | {
      kind: "dispatch";
      installationId: number;
      repoFullName: string;
      /** Jobs that act on the delivery itself (they read its payload from PostgreSQL). */
      jobs: DeliveryJob[];
      /** Issues whose place in the task graph may have changed. */
      syncs: SyncTarget[];
    }
  | { kind: "installation"; event: InstallationEvent }
  | { kind: "ignore"; why: string }
  | { kind: "invalid"; why: string };

/** issues.* actions that can change the task graph (state, labels, text with "blocked by", priority). */
const GRAPH_ACTIONS = new Set([
  "opened",
  "edited",
  "reopened",
  "closed",
  "deleted",
  "labeled",
  "unlabeled",
  "milestoned",
  "demilestoned",
  "transferred",
]);

export function routeWebhook(name: string, payload: unknown): Route {
  const action = (payload as { action?: unknown } | null)?.action;
  const event = typeof action === "string" ? `${name}.${action}` : name;
  switch (event) {
    case "issues.labeled":
      return parse(IssueLabeled, payload, (p) =>
        // Drover's own state labels never start anything, and pull requests are not tasks. A label a bot
        // added (Drover's own for `/drover run` and `/drover priority`) starts nothing, but may change
        // the task's priority: the issue is read again.
        ALL_STATE_LABELS.includes(p.label.name) || p.label.name.startsWith("drover:")
          ? { kind: "ignore", why: "a Drover state label" }
          : p.issue.pull_request !== undefined
            ? { kind: "ignore", why: "a label on a pull request" }
            : isBot(p.sender)
              ? dispatch(p, [], [self(p, false)])
              : dispatch(p, ["start-task"], [self(p, true)]),
      );
    case "issues.unlabeled":
      return parse(IssueUnlabeled, payload, (p) =>
        ALL_STATE_LABELS.includes(p.label.name) || p.label.name.startsWith("drover:")
          ? { kind: "ignore", why: "a Drover state label" }
          : p.issue.pull_request !== undefined
            ? { kind: "ignore", why: "a label on a pull request" }
            : isBot(p.sender)
              ? dispatch(p, [], [self(p, false)])
              : // The Drover label taken off stops the task (close-task checks it is that label).
                dispatch(p, ["close-task"], [self(p, false)]),
      );
    case "issue_comment.created":
      return parse(IssueCommentCreated, payload, (p) =>
        isBot(p.sender) || isBot(p.comment.user)
          ? { kind: "ignore", why: "a bot's comment" }
          : hasCommand(p.comment.body)
            ? dispatch(p, ["command"], [])
            : { kind: "ignore", why: "a comment without a /drover command" },
      );
    case "issue_comment.edited":
      return { kind: "ignore", why: "an edited comment never runs a command (post a new comment)" };
    case "pull_request_review_comment.created":
      return parse(ReviewCommentCreated, payload, (p) =>
        isBot(p.sender) || isBot(p.comment.user)
          ? { kind: "ignore", why: "a bot's comment" }
          : !p.pull_request.head.ref.startsWith("drover/")
            ? { kind: "ignore", why: "not a Drover branch" }
            : hasCommand(p.comment.body)
              ? dispatch(p, ["command"], [])
              : { kind: "ignore", why: "a review comment without a /drover command (reviews rework)" },
      );
    case "pull_request_review.submitted":
      return parse(ReviewSubmitted, payload, (p) =>
        isBot(p.sender)
          ? { kind: "ignore", why: "a bot's review" }
          : !p.pull_request.head.ref.startsWith("drover/")
            ? { kind: "ignore", why: "not a Drover branch" }
            : reviewRoute(p),
      );
    case "issues.closed":
      return parse(IssueClosed, payload, (p) => dispatch(p, ["close-task"], [self(p, false)]));
    case "pull_request.closed":
      return parse(PullRequestClosed, payload, (p) =>
        p.pull_request.head.ref.startsWith("drover/")
          ? dispatch(p, ["close-task"], [])
          : { kind: "ignore", why: "not a Drover branch" },
      );
    case "installation.created":
    case "installation.deleted":
    case "installation.suspend":
    case "installation.unsuspend":
    case "installation.new_permissions_accepted":
      return parse(InstallationEvent, payload, (p) => ({ kind: "installation", event: p }));
  }
  if (name === "issues" && typeof action === "string" && GRAPH_ACTIONS.has(action)) {
    return parse(IssueChanged, payload, (p) =>
      p.issue.pull_request !== undefined
        ? { kind: "ignore", why: "a pull request" }
        : dispatch(p, [], [self(p, action === "edited" || action === "opened")]),
    );
  }
  if (name === "issue_dependencies") {
    // One link arrives twice (blocked_by_* and blocking_*); both sync the blocked issue, which is idempotent.
    return parse(DependencyChanged, payload, (p) => ({
      kind: "dispatch",
      installationId: p.installation.id,
      repoFullName: repoOfUrl(p.blocked_issue.repository_url),
      jobs: [],
      syncs: [
        {
          repoFullName: repoOfUrl(p.blocked_issue.repository_url),
          number: p.blocked_issue.number,
          links: true,
        },
      ],
    }));
  }
  if (name === "sub_issues") {
    return parse(SubIssueChanged, payload, (p) => ({
      kind: "dispatch",
      installationId: p.installation.id,
      repoFullName: repoOfUrl(p.parent_issue.repository_url),
      jobs: [],
      syncs: [
        {
          repoFullName: repoOfUrl(p.parent_issue.repository_url),
          number: p.parent_issue.number,
          links: true,
        },
        { repoFullName: repoOfUrl(p.sub_issue.repository_url), number: p.sub_issue.number, links: false },
      ],
    }));
  }
  return { kind: "ignore", why: `${event} is not an event Drover acts on` };
}

/**
 * A review's state decides (changes requested reworks, an approval is recorded); its body may carry
 * commands too. A comment-only review without a command (GitHub makes one for every lone review comment)
 * asks for nothing.
 */
function reviewRoute(p: ReviewSubmitted): Route {
  const command = hasCommand(p.review.body);
  if (p.review.state === "commented")
    return command ? dispatch(p, ["command"], []) : { kind: "ignore", why: "a comment-only review" };
  return dispatch(p, command ? ["review", "command"] : ["review"], []);
}

type WithRepo = { repository: { full_name: string }; installation: { id: number } };

function dispatch(p: WithRepo, jobs: DeliveryJob[], syncs: SyncTarget[]): Route {
  return {
    kind: "dispatch",
    installationId: p.installation.id,
    repoFullName: p.repository.full_name,
    jobs,
    syncs,
  };
}

function self(p: WithRepo & { issue: { number: number } }, links: boolean): SyncTarget {
  return { repoFullName: p.repository.full_name, number: p.issue.number, links };
}

function parse<S extends z.ZodType>(schema: S, payload: unknown, then: (p: z.infer<S>) => Route): Route {
  const result = schema.safeParse(payload);
  if (result.success) return then(result.data);
  const first = result.error.issues[0];
  return { kind: "invalid", why: `${first?.path.join(".") || "(payload)"}: ${first?.message ?? "invalid"}` };
}
