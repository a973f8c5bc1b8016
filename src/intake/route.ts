import type { z } from "zod";
import type { JobName } from "../queue/job-catalog.ts";
import { ALL_STATE_LABELS } from "../graph/transitions.ts";
import { hasCommand } from "../graph/commands.ts";
import { isBot } from "../lib/bots.ts";
import {
  DependencyChanged,
  InstallationEvent,
  InstallationRepositoriesEvent,
  IssueChanged,
  IssueClosed,
  IssueCommentCreated,
  IssueLabeled,
  IssueUnlabeled,
  PullRequestClosed,
  PullRequestSynchronize,
  PushEvent,
  ReviewCommentCreated,
  ReviewSubmitted,
  SubIssueChanged,
  type InstalledRepository,
} from "./payloads.ts";
import { repoOfUrl } from "../github/read-issues.ts";
import { CONFIG_PATH } from "../config/schema.ts";

/** The jobs that act on a delivery itself. */
export type DeliveryJob = Extract<
  JobName,
  "start-task" | "close-task" | "command" | "review" | "follow-base" | "config-check"
>;

/**
 * An issue whose place in the graph may have changed. `fromDelivery`: what changed is in the delivery's
 * payload (the issue with its labels, or one link), applied from there; only what it lacks is read.
 * Otherwise the issue is read from GitHub; `links` also reads its dependencies and sub-issues.
 */
export type SyncTarget = { repoFullName: string; number: number; links: boolean; fromDelivery?: true };

/** Who Drover is on GitHub, where routing needs it. */
export type RouteOptions = {
  /** Drover's own bot login (`<app-slug>[bot]`); unknown, every bot is treated as someone else's. */
  botLogin?: string | undefined;
};

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
  | {
      kind: "installation";
      event: Omit<InstallationEvent, "repositories">;
      /** installation.created: the repositories it was installed on (their mirrors are made at once). */
      added: InstalledRepository[];
    }
  | {
      /** installation_repositories.*: the app put on, or taken off, some of the installation's repositories. */
      kind: "repositories";
      installationId: number;
      added: InstalledRepository[];
      removed: InstalledRepository[];
    }
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

/**
 * Webhooks caused by Drover's own writes (its bot as sender), event by event. Each costs GitHub a delivery
 * and Drover a job, so those that tell Drover nothing it did not already record are dropped here:
 *
 * - issues.labeled / unlabeled: dropped. Its state labels (`drover:*`) are dropped from anyone; the Drover
 *   label (`/drover run`, a story's sub-issues) and priority labels (`/drover priority`) are written by
 *   code that syncs the issue itself right after.
 * - issues.edited, issues.opened: dropped (Drover edits no issue; the issues `drover import-jsonl` opens
 *   come with their labels and links as events of their own).
 * - issue_comment.* and reviews: dropped from every bot (status comments, replies).
 * - issues.closed: kept. A pull request merged by Drover (auto_merge) closes its issue as Drover's bot:
 *   that is the task done.
 * - pull_request.closed: kept, for the same reason (Drover's own merge).
 * - issue_dependencies.*, sub_issues.*: kept. The links `drover import-jsonl` and `/drover plan accept`
 *   make are the graph; they cost no request (applied from the payload).
 * - push: kept, whoever pushed: Drover's own merge (auto_merge) moves a base branch like anyone's, and
 *   its own push to a task branch moves the pull requests stacked on it (follow-base finds none for most).
 * - pull_request.synchronize on a task branch: dropped (Drover's own pushes; publish shows them).
 * - Anything else (pull_request.opened, check runs): not an event Drover acts on, from anyone.
 */
function isDrover(sender: { login: string }, options: RouteOptions): boolean {
  return options.botLogin !== undefined && sender.login.toLowerCase() === options.botLogin.toLowerCase();
}

export function routeWebhook(name: string, payload: unknown, options: RouteOptions = {}): Route {
  const action = (payload as { action?: unknown } | null)?.action;
  const event = typeof action === "string" ? `${name}.${action}` : name;
  switch (event) {
    case "issues.labeled":
      return parse(IssueLabeled, payload, (p) =>
        // Drover's own state labels never start anything, and pull requests are not tasks. A label another
        // bot added starts nothing, but may change the task's priority: the payload's labels are recorded.
        // A person's label goes to start-task alone, which records the issue from the payload whatever
        // the label (one sync per change).
        ALL_STATE_LABELS.includes(p.label.name) || p.label.name.startsWith("drover:")
          ? { kind: "ignore", why: "a Drover state label" }
          : p.issue.pull_request !== undefined
            ? { kind: "ignore", why: "a label on a pull request" }
            : isDrover(p.sender, options)
              ? { kind: "ignore", why: "Drover's own label (it synced the issue when it wrote it)" }
              : isBot(p.sender)
                ? dispatch(p, [], [fromPayload(p)])
                : dispatch(p, ["start-task"], []),
      );
    case "issues.unlabeled":
      return parse(IssueUnlabeled, payload, (p) =>
        ALL_STATE_LABELS.includes(p.label.name) || p.label.name.startsWith("drover:")
          ? { kind: "ignore", why: "a Drover state label" }
          : p.issue.pull_request !== undefined
            ? { kind: "ignore", why: "a label on a pull request" }
            : isDrover(p.sender, options)
              ? { kind: "ignore", why: "Drover's own label (it synced the issue when it wrote it)" }
              : isBot(p.sender)
                ? dispatch(p, [], [fromPayload(p)])
                : // The Drover label taken off stops the task (close-task checks it is that label).
                  dispatch(p, ["close-task"], [fromPayload(p)]),
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
      return parse(IssueClosed, payload, (p) => dispatch(p, ["close-task"], [fromPayload(p)]));
    case "pull_request.closed":
      return parse(PullRequestClosed, payload, (p) =>
        p.pull_request.head.ref.startsWith("drover/")
          ? dispatch(p, ["close-task"], [])
          : { kind: "ignore", why: "not a Drover branch" },
      );
    case "push":
      return parse(PushEvent, payload, (p) => pushRoute(p));
    case "pull_request.synchronize":
      // Someone else's commits on a task's pull request (a person resolving its conflicts by hand): whether
      // it merges into its base now is worth a look.
      return parse(PullRequestSynchronize, payload, (p) =>
        !p.pull_request.head.ref.startsWith("drover/")
          ? { kind: "ignore", why: "not a Drover branch" }
          : isDrover(p.sender, options)
            ? { kind: "ignore", why: "Drover's own push" }
            : dispatch(p, ["follow-base"], []),
      );
    case "installation.created":
    case "installation.deleted":
    case "installation.suspend":
    case "installation.unsuspend":
    case "installation.new_permissions_accepted":
      return parse(InstallationEvent, payload, ({ repositories, ...event }) => ({
        kind: "installation",
        event,
        added: event.action === "created" ? (repositories ?? []) : [],
      }));
    case "installation_repositories.added":
    case "installation_repositories.removed":
      return parse(InstallationRepositoriesEvent, payload, (p) => ({
        kind: "repositories",
        installationId: p.installation.id,
        added: p.repositories_added,
        removed: p.repositories_removed,
      }));
  }
  if (name === "issues" && typeof action === "string" && GRAPH_ACTIONS.has(action)) {
    return parse(IssueChanged, payload, (p) =>
      p.issue.pull_request !== undefined
        ? { kind: "ignore", why: "a pull request" }
        : (action === "edited" || action === "opened") && p.sender && isDrover(p.sender, options)
          ? { kind: "ignore", why: "an issue Drover wrote itself" }
          : dispatch(p, [], [fromPayload(p)]),
    );
  }
  if (name === "issue_dependencies") {
    // One link arrives twice: blocked_by_* at the blocked issue's repository, blocking_* at the blocker's.
    // Within one repository both come to the same installation, and the blocked_by_* one is applied; across
    // repositories each may be the only one Drover receives, so both are applied (the same edge, twice).
    return parse(DependencyChanged, payload, (p) => {
      const blockedRepo = repoOfUrl(p.blocked_issue.repository_url);
      if (p.action.startsWith("blocking_") && sameRepo(blockedRepo, p.repository?.full_name ?? blockedRepo))
        return { kind: "ignore", why: "the link's blocked_by_* webhook carries it" };
      return {
        kind: "dispatch",
        installationId: p.installation.id,
        repoFullName: p.repository?.full_name ?? blockedRepo,
        jobs: [],
        syncs: [
          { repoFullName: blockedRepo, number: p.blocked_issue.number, links: true, fromDelivery: true },
        ],
      };
    });
  }
  if (name === "sub_issues") {
    // Both sides again: sub_issue_* at the parent's repository (applied), parent_issue_* at the child's
    // (applied only when it comes from another repository).
    return parse(SubIssueChanged, payload, (p) => {
      const parentRepo = repoOfUrl(p.parent_issue.repository_url);
      if (p.action.startsWith("parent_issue_") && sameRepo(parentRepo, p.repository?.full_name ?? parentRepo))
        return { kind: "ignore", why: "the link's sub_issue_* webhook carries it" };
      return {
        kind: "dispatch",
        installationId: p.installation.id,
        repoFullName: p.repository?.full_name ?? parentRepo,
        jobs: [],
        syncs: [{ repoFullName: parentRepo, number: p.parent_issue.number, links: true, fromDelivery: true }],
      };
    });
  }
  return { kind: "ignore", why: `${event} is not an event Drover acts on` };
}

/**
 * A push to a branch: the base of Drover's open pull requests, perhaps (the follow-base job looks), a task
 * branch included: pull requests stacked on it (drover.yml `stack: true`) follow it. Not a tag, not a
 * deleted branch. One that changes `.github/drover.yml` also gets the file checked on its head commit
 * (the `Drover config` check run), so a broken file shows on the commit, not first on some issue.
 */
function pushRoute(p: PushEvent): Route {
  if (!p.ref.startsWith("refs/heads/")) return { kind: "ignore", why: "a push of a tag" };
  if (p.deleted === true || /^0+$/.test(p.after)) return { kind: "ignore", why: "a deleted branch" };
  return dispatch(p, configChange(p) ? ["follow-base", "config-check"] : ["follow-base"], []);
}

/**
 * What a push did to `.github/drover.yml`, by the last pushed commit that touched it: removed it, added or
 * changed it, or nothing (null).
 */
export function configChange(p: Pick<PushEvent, "commits">): "changed" | "removed" | null {
  const last = (p.commits ?? []).findLast((commit) =>
    [commit.added, commit.modified, commit.removed].some((files) => files?.includes(CONFIG_PATH) === true),
  );
  if (!last) return null;
  return last.removed?.includes(CONFIG_PATH) === true ? "removed" : "changed";
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

/** The delivery's own issue, applied from the payload (the issue and its labels are in it). */
function fromPayload(p: WithRepo & { issue: { number: number } }): SyncTarget {
  return { repoFullName: p.repository.full_name, number: p.issue.number, links: false, fromDelivery: true };
}

function sameRepo(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function parse<S extends z.ZodType>(schema: S, payload: unknown, then: (p: z.infer<S>) => Route): Route {
  const result = schema.safeParse(payload);
  if (result.success) return then(result.data);
  const first = result.error.issues[0];
  return { kind: "invalid", why: `${first?.path.join(".") || "(payload)"}: ${first?.message ?? "invalid"}` };
}
